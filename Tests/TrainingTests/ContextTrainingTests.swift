import Datasets
import Foundation
import Tagger
import Tensors
import Testing
@testable import Training

/// Training, evaluating and tagging with document context (`--context`).
@Suite(.serialized) struct ContextTrainingTests {
    /// The token count the trainer reports for an epoch ("… training sequences, N tokens; …").
    func trainingTokens(_ messages: [String]) throws -> Int {
        let line = try #require(messages.first { $0.contains(" training sequences, ") })
        let words = line.split(separator: " ")
        let index = try #require(words.firstIndex { $0.hasPrefix("tokens") })
        return try #require(Int(words[index - 1]))
    }

    @Test func aRunWithContextTrainsEvaluatesAndPredictsEveryWord() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let plainRun = task.runDirectory("plain"), contextRun = task.runDirectory("context")
        let plain = try TinyTaggingTask.run(task.options(output: plainRun, epochs: 1))
        var options = task.options(output: contextRun, epochs: 2)
        options.context = 8
        let (summary, messages) = try TinyTaggingTask.run(options)
        #expect(!summary.interrupted)
        #expect(messages.contains { $0.contains("with up to 8 sub-words of document context on each side") }, "\(messages)")
        // Context lengthens the inputs; the batches stay within the token budget.
        #expect(try trainingTokens(messages) > trainingTokens(plain.messages))

        // Dev and test predictions hold one predicted label for every word, in the input's layout.
        for (name, source) in [("dev", task.dev), ("test", task.test)] {
            let input = try String(contentsOf: source, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let tagged = try String(contentsOf: contextRun.appendingPathComponent("predictions/\(name).conll"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
            try #require(tagged.count == input.count, "\(name): one output line per input line")
            for (original, line) in zip(input, tagged) where !original.isEmpty && !original.hasPrefix("-DOCSTART-") {
                #expect(line.hasPrefix(original + " ") && line.split(separator: " ").count == 4, "\(name): \(line)")
            }
        }

        // The best model scored dev with context: tagging dev with context through the same path gives back
        // the run's dev predictions and the dev loss of the evaluation that kept it.
        Parallel.setThreadCount(1)
        let best = try TokenClassifier(directory: contextRun.appendingPathComponent("best"), maxTokens: options.batchTokens, seed: 0,
                                       precision: options.precision.resolved)
        let devCorpus = try CoNLLReader(labelColumn: -1).read(contentsOf: task.dev)
        func tag(context: Int) throws -> (predictions: [[String]], loss: Double?) {
            let windowing = try Windowing(maxLength: best.maxLength, context: context)
            let dataset = try best.dataset(devCorpus, labelled: true, windowing: windowing)
            return try best.predict(dataset, batches: dataset.batches(BatchPlanner(maxTokens: options.batchTokens), order: .lengthSorted))
        }
        let withContext = try tag(context: 8), alone = try tag(context: 0)
        let written = try CoNLLReader(labelColumn: -1).read(contentsOf: contextRun.appendingPathComponent("predictions/dev.conll"))
        #expect(withContext.predictions == (try written.labelSequences()))
        let kept = try #require(try metricsRows(contextRun, "evaluations").last { ($0["best"] as? NSNumber)?.intValue == 1 })
        let keptLoss = try #require((kept["dev_loss"] as? NSNumber)?.doubleValue)
        let contextLoss = try #require(withContext.loss), aloneLoss = try #require(alone.loss)
        #expect(abs(contextLoss - keptLoss) <= 1e-9 * max(1, keptLoss), "dev loss \(keptLoss) logged, \(contextLoss) recomputed")
        #expect(abs(aloneLoss - keptLoss) > 1e-6, "without context the dev loss differs, so the comparison above means something")
    }

    @Test func optionsJSONKeepsTheContextAndOldFilesReadAsNone() throws {
        var options = TrainingOptions(model: "/m", train: "/t", dev: "/d", output: "/o")
        options.context = 64
        let data = try JSONEncoder().encode(options)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["context"] as? Int == 64)
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: data) == options)

        // An options.json written before the option existed.
        var old = object
        old.removeValue(forKey: "context")
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(decoded.context == 0)
        options.context = 0
        #expect(decoded == options)

        options.context = -1
        #expect(throws: TrainingError.invalidOption("--context must not be negative (0 turns it off), not -1")) {
            try options.validate()
        }
    }

    @Test func resumingWithAnotherContextIsRefusedAndWithTheSameOneFinishes() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run)
        options.context = 4
        let interruption = Interruption()
        let stopped = try TinyTaggingTask.run(options, interruption: interruption) { step in
            if step == 3 { interruption.request() }
        }
        #expect(stopped.summary.interrupted)

        var other = options
        other.context = 8
        var steps = 0
        #expect(throws: TrainingError.resumeMismatch(path: run.path, field: "context", saved: "4", given: "8")) {
            try TinyTaggingTask.run(other, resume: true) { _ in steps += 1 }
        }
        #expect(steps == 0)
        other.context = 0
        #expect(throws: TrainingError.resumeMismatch(path: run.path, field: "context", saved: "4", given: "0")) {
            try TinyTaggingTask.run(other, resume: true)
        }

        let finished = try TinyTaggingTask.run(options, resume: true)
        #expect(!finished.summary.interrupted && finished.summary.steps > 3)
    }
}
