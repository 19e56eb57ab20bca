import ArgumentParser
import Tensors

/// The machine as the tool sees it: processor, instruction sets, libraries and kernels, threads.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the CPU's instruction sets, the matrix library and kernels in use, and the thread count.")

    func run() throws {
        print("bert-tagger \(BertTagger.configuration.version)")
        do {
            try ComputeLibraries.load()
        } catch {
            throw CommandError("\(error)")
        }
        for line in ComputeLibraries.report { print(line) }
    }
}
