import ArgumentParser
import DataParallel
import FileIO
import Foundation

@main
struct BertTagger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-tagger",
        abstract: "Fine-tune and run BERT-family encoders for token classification (NER, POS, chunking).",
        version: "0.1.0",
        subcommands: [
            TrainCommand.self,
            PredictCommand.self,
            ServeCommand.self,
            EvaluateCommand.self,
            TokenizeCommand.self,
            DataCommand.self,
            InfoCommand.self,
        ]
    )

    /// ArgumentParser's own main, except that a Foundation file error that escaped a command is told in
    /// plain words with its path, never as "NSCocoaErrorDomain error 256". Under `mpirun` every rank reads the
    /// same command line, so rank 0 alone tells what is wrong with it (or prints the help).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let error = PlainFileError(error) ?? error
            if let (rank, size) = RankFailure.launcherRank(), rank != 0 {
                let code = exitCode(for: error)
                // Help, version, and an exit every rank takes together (an interrupted run that saved): nothing to tell.
                if code == .success || error is ExitCode { Foundation.exit(code.rawValue) }
                tellFailure(fullMessage(for: error), rank: rank, size: size, own: false)
                Foundation.exit(code.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// A Foundation (Cocoa or POSIX) error restated as "PATH: reason".
struct PlainFileError: Error, CustomStringConvertible {
    var description: String

    init?(_ error: any Error) {
        let nsError = error as NSError
        guard nsError.domain == NSCocoaErrorDomain || nsError.domain == NSPOSIXErrorDomain else { return nil }
        let path = (nsError.userInfo[NSFilePathErrorKey] as? String) ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path
        let reason = fileErrorReason(error, path: path)
        description = path.map { "\($0): \(reason)" } ?? reason
    }
}

/// A problem found while a command runs (a file, a run directory, the model's limits): printed as its
/// message alone, since the usage text would not help.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
