import ArgumentParser
import Datasets
import Dispatch
import Foundation
import SeqEval

/// Milliseconds to score CoNLL-2003 dev with the seqeval-exact scorer, in default and strict mode.
struct ScoringBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scoring",
        abstract: "Milliseconds to score CoNLL-2003 dev (gold against a copy with 5% of tags changed), default and strict IOB2 (build with -c release).")

    @Option(help: "Folder holding dev.txt.")
    var corpus = "data/conll2003"

    @Option(help: "Timed repetitions; the fastest is reported.")
    var repeats = 20

    func run() throws {
        try printMachineHeader()
        let devURL = URL(fileURLWithPath: corpus).appendingPathComponent("dev.txt")
        guard FileManager.default.fileExists(atPath: devURL.path) else {
            throw ValidationError("\(devURL.path) not found; pass --corpus with the folder that holds CoNLL-2003's dev.txt.")
        }
        let gold = try CoNLLReader().read(contentsOf: devURL).sentences.map { $0.labels ?? [] }
        let labels = Array(Set(gold.joined())).sorted()
        var generator = SplitMix64(seed: 7)
        let predicted = gold.map { sentence in
            sentence.map { tag in generator.next(below: 20) == 0 ? labels[generator.next(below: labels.count)] : tag }
        }
        func fastest(_ mode: EvaluationMode) throws -> (seconds: Double, f1: Double) {
            var best = Double.infinity
            var f1 = 0.0
            for _ in 0..<max(1, repeats) {
                let start = DispatchTime.now().uptimeNanoseconds
                f1 = try classificationReport(gold: gold, predicted: predicted, mode: mode).microAverage.f1Score
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return (best, f1)
        }
        let tokens = gold.reduce(0) { $0 + $1.count }
        print("scoring benchmark: \(devURL.path), \(gold.count) sentences, \(tokens) tokens, best of \(repeats)")
        for (name, mode) in [("default", EvaluationMode.default), ("strict IOB2", .strict(.iob2))] {
            let (seconds, f1) = try fastest(mode)
            print(String(format: "  %-12@ %.2f ms  (micro F1 %.4f)", name as NSString, seconds * 1000, f1))
        }
    }
}
