import ArgumentParser
import FileIO
import Foundation
import Training

/// `train --resume DIR`: the run's own options.json gives every option, and the options given on the
/// command line are laid over it (the trainer then refuses any that would change what the run computes).
enum RunResumption {
    /// Command-line names whose options.json key is not the name in camel case.
    static let keyForName = ["lr": "learningRate"]
    /// Options of the command that are not training options.
    static let notTrainingOptions: Set<String> = ["resume", "help", "version"]

    /// The long options (`--name` or `--name=value`) given after the `train` subcommand.
    static func givenOptions(_ arguments: [String]) -> Set<String> {
        let afterSubcommand = arguments.drop { $0 != "train" }.dropFirst()
        var names = Set<String>()
        for argument in afterSubcommand {
            if argument == "--" { break }
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            names.insert(String(argument.dropFirst(2).prefix { $0 != "=" }))
        }
        return names
    }

    /// The options of the run in `run`, with those `given` on the command line taken from `commandLine`.
    static func options(run: String, commandLine: TrainingOptions, given: Set<String>) throws -> TrainingOptions {
        let file = URL(fileURLWithPath: run).appendingPathComponent("options.json")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: run, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandError("--resume \(run): no such run directory; give the folder a `train` run printed as its run directory.")
        }
        let savedData: Data
        do { savedData = try Data(contentsOf: file) } catch {
            throw CommandError("--resume \(run): cannot read \(file.lastPathComponent) (\(fileErrorReason(error, path: file.path))); "
                + "it records how the run was started, so only a run directory made by `train` can be resumed.")
        }
        guard var merged = (try? JSONSerialization.jsonObject(with: savedData)) as? [String: Any] else {
            throw CommandError("\(file.path): not a JSON object of training options; the run cannot be resumed. Start a new run.")
        }
        let encoder = JSONEncoder()
        let current = try JSONSerialization.jsonObject(with: encoder.encode(commandLine)) as? [String: Any] ?? [:]
        for name in given.subtracting(notTrainingOptions).sorted() {
            let key = keyForName[name] ?? camelCase(name)
            guard let value = current[key] else {
                throw CommandError("--\(name) cannot be given with --resume: the run continues with the options it was started with.")
            }
            merged[key] = value
        }
        merged["output"] = commandLine.output
        do {
            return try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch {
            throw CommandError("\(file.path): the training options cannot be read (\(error)); the run cannot be resumed. Start a new run.")
        }
    }

    /// The command that continues the run in `run`, as the user can paste it.
    static func command(run: String) -> String {
        let tool = CommandLine.arguments.first.map { $0.contains("/") ? $0 : URL(fileURLWithPath: $0).lastPathComponent } ?? "bert-tagger"
        return "\(shellQuoted(tool)) train --resume \(shellQuoted(run))"
    }

    /// `text` as one shell word: as is when it holds only safe characters, else in single quotes.
    static func shellQuoted(_ text: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
        if !text.isEmpty && text.unicodeScalars.allSatisfy({ safe.contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func camelCase(_ name: String) -> String {
        let parts = name.split(separator: "-")
        return (parts.first.map(String.init) ?? "") + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
