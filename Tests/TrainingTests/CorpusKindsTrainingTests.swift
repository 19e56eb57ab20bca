import Datasets
import Foundation
import SeqEval
import Testing
@testable import Training

/// Training on every documented format, on tags that are not entities, and with dev labels training never saw.
@Suite(.serialized) struct CorpusKindsTrainingTests {
    /// The task's sentences as HuggingFace-style JSON Lines: integer `ner_tags` indexing `names`.
    static func jsonLines(_ sentences: [[(word: String, pos: String, ner: String)]], names: [String]) throws -> String {
        try sentences.map { sentence in
            let record: [String: Any] = ["tokens": sentence.map(\.word), "ner_tags": sentence.map { names.firstIndex(of: $0.ner)! }]
            return String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    @Test func jsonLinesWithIntegerNerTagsTrainLikeTheSameCoNLL() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
        let train = task.root.appendingPathComponent("train.jsonl"), dev = task.root.appendingPathComponent("dev.jsonl")
        try Self.jsonLines(TinyTaggingTask.sentences(60, seed: 1), names: names).write(to: train, atomically: true, encoding: .utf8)
        try Self.jsonLines(TinyTaggingTask.sentences(24, seed: 2), names: names).write(to: dev, atomically: true, encoding: .utf8)

        var conll = task.options(output: task.runDirectory("conll"), epochs: 1)
        conll.test = nil
        var jsonl = conll
        jsonl.output = task.runDirectory("jsonl").path
        jsonl.train = train.path
        jsonl.dev = dev.path
        jsonl.labelNames = names
        let fromCoNLL = try TinyTaggingTask.run(conll).summary
        let fromJSONL = try TinyTaggingTask.run(jsonl).summary
        #expect(try LabelSet.load(from: URL(fileURLWithPath: jsonl.output).appendingPathComponent("labels.json")).labels
                == LabelSet.load(from: URL(fileURLWithPath: conll.output).appendingPathComponent("labels.json")).labels)
        #expect(fromJSONL.devReport == fromCoNLL.devReport, "the same sentences and labels train the same model")
    }

    @Test func jsonLinesReadAsCoNLLStopsBeforeTraining() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let train = task.root.appendingPathComponent("train.txt")
        try #"{"tokens": ["Paris"], "tags": ["B-LOC"]}"#.appending("\n").write(to: train, atomically: true, encoding: .utf8)
        var options = task.options(output: task.runDirectory())
        options.train = train.path
        var steps = 0
        #expect { try TinyTaggingTask.run(options) { _ in steps += 1 } } throws: { error in
            String(describing: error).contains("--input-format jsonl")
        }
        #expect(steps == 0)
    }

    @Test func posTagsAreScoredPerTagInEveryEvaluationAndReport() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        var options = task.options(output: task.runDirectory(), epochs: 1)
        options.labelColumn = 1
        let (summary, messages) = try TinyTaggingTask.run(options)
        #expect(summary.metric == .accuracy)
        let dev = try #require(summary.devReport)
        #expect(dev.scoring == .tags)
        #expect(dev.types.keys.contains("NNP") && dev.types.keys.contains("VBD"), "tags, not chunks NP and BD: \(dev.typeNames)")
        #expect(!dev.types.keys.contains("NP"))
        #expect(messages.contains { $0.contains("scoring per tag") })
        let line = try #require(messages.first { $0.hasPrefix("dev at step") })
        #expect(line.contains("per tag: micro P") && line.contains("macro P") && line.contains("accuracy"), "\(line)")

        let run = URL(fileURLWithPath: options.output)
        let text = try String(contentsOf: run.appendingPathComponent("reports/dev.txt"), encoding: .utf8)
        #expect(text.hasPrefix("scoring: per tag"))
        #expect(text.contains("token accuracy"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("reports/test.json"))) as? [String: Any])
        #expect(json["scoring"] as? String == "tags")
        #expect(json["NNP"] != nil)
        // The predictions file scores per tag to the report's numbers.
        let predictions = try CoNLLReader(labelColumn: -1).read(contentsOf: run.appendingPathComponent("predictions/dev.conll"))
        let gold = try CoNLLReader(labelColumn: 1).read(contentsOf: run.appendingPathComponent("predictions/dev.conll"))
        #expect(try tagClassificationReport(gold: gold.labelSequences(), predicted: predictions.labelSequences()) == dev)
    }

    static let devWithUnseen = "-DOCSTART- -X- O\n\nthe DT O\nnews NN B-MISC\n\nParis NNP B-LOC\n.  . O\n\nshe PRP O\nwent VBD O\n"

    @Test func unseenDevLabelsAreAnErrorNamingTheOption() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let dev = task.root.appendingPathComponent("dev-unseen.txt")
        try Self.devWithUnseen.write(to: dev, atomically: true, encoding: .utf8)
        var options = task.options(output: task.runDirectory())
        options.dev = dev.path
        #expect { try TinyTaggingTask.run(options) } throws: { error in
            let message = String(describing: error)
            return message.contains("\"B-MISC\" (line 4)") && message.contains("--unseen-labels outside")
                && message.contains("--unseen-labels skip")
        }
    }

    /// A one-epoch run whose dev data holds a label training never saw, handled by `policy`.
    func runWithUnseenDevLabels(_ policy: UnseenLabelPolicy, in task: TinyTaggingTask) throws
        -> (summary: TrainingSummary, messages: [String], run: URL) {
        let dev = task.root.appendingPathComponent("dev-unseen.txt")
        try Self.devWithUnseen.write(to: dev, atomically: true, encoding: .utf8)
        var options = task.options(output: task.runDirectory(), epochs: 1)
        options.dev = dev.path
        options.test = nil
        options.unseenLabels = policy
        let (summary, messages) = try TinyTaggingTask.run(options)
        return (summary, messages, URL(fileURLWithPath: options.output))
    }

    @Test func unseenDevLabelsScoredAsOutsideAreCountedAndReported() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let (summary, messages, run) = try runWithUnseenDevLabels(.outside, in: task)
        #expect(messages.contains("dev: labels never seen in training scored as O (--unseen-labels outside): B-MISC (1) on 1 word in 1 sentence"))
        #expect(summary.devReport?.types["MISC"] == nil, "no gold MISC entity is left to score")
        let text = try String(contentsOf: run.appendingPathComponent("reports/dev.txt"), encoding: .utf8)
        #expect(text.contains("note: labels never seen in training scored as O"))
        let predictions = try String(contentsOf: run.appendingPathComponent("predictions/dev.conll"), encoding: .utf8)
        #expect(predictions.contains("news NN O "), "the label column shows what was scored")
    }

    @Test func unseenDevLabelsCanLeaveTheirSentencesOut() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let (_, messages, run) = try runWithUnseenDevLabels(.skip, in: task)
        #expect(messages.contains("dev: 1 sentence left out for labels never seen in training (--unseen-labels skip): B-MISC (1) on 1 word"))
        let predictions = try CoNLLReader(labelColumn: -1).read(contentsOf: run.appendingPathComponent("predictions/dev.conll"))
        #expect(predictions.sentences.map(\.words) == [["Paris", "."], ["she", "went"]])
    }
}

@Suite struct UnseenLabelMessageTests {
    @Test func withoutAnOLabelOnlySkipIsOffered() {
        let pos = TrainingError.unseenLabels(file: "dev.txt", labels: [("NN|SYM", 29764)], outsideAvailable: false).description
        #expect(pos.contains("\"NN|SYM\" (line 29764)") && pos.contains("--unseen-labels skip") && !pos.contains("outside"))
        let ner = TrainingError.unseenLabels(file: "dev.txt", labels: [("B-MISC", 4)]).description
        #expect(ner.contains("--unseen-labels outside") && ner.contains("--unseen-labels skip"))
    }
}
