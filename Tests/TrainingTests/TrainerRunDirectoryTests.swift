import BERT
import Datasets
import Foundation
import SeqEval
import Tensors
import Testing
@testable import Training

/// What a finished run leaves behind, and whether training learns at all.
@Suite(.serialized) struct TrainerRunDirectoryTests {
    /// An epoch's time, as the run reports it ("epoch 1 took … s (training and validation)", the summary's seconds
    /// per epoch), counts its validation: with one step of training and a dev set of thousands of sentences, it is
    /// at least the evaluation's own time.
    @Test func anEpochsTimeCountsItsValidation() throws {
        let task = try TinyTaggingTask(sentences: 4, devSentences: 3000)
        defer { task.remove() }
        let run = task.runDirectory()
        let (summary, messages) = try TinyTaggingTask.run(task.options(output: run, epochs: 1))
        let evaluation = try #require(column(try metricsRows(run, "evaluations"), "seconds").first)
        let epoch = try #require(summary.secondsPerEpoch)
        #expect(evaluation > 0 && epoch >= evaluation, "epoch \(epoch) s, its evaluation \(evaluation) s")
        #expect(messages.contains { $0.hasPrefix("epoch 1 took ") && $0.hasSuffix(" s (training and validation)") },
                "\(messages)")
    }

    @Test func aRunLeavesTheDocumentedRunDirectory() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        let (summary, messages) = try TinyTaggingTask.run(task.options(output: run, epochs: 2))
        #expect(!summary.interrupted)
        #expect(summary.metric == .f1)

        let fm = FileManager.default
        for file in ["options.json", "labels.json", "metrics/steps.jsonl", "metrics/steps.csv",
                     "metrics/evaluations.jsonl", "metrics/evaluations.csv",
                     "best/config.json", "best/model.safetensors", "best/vocab.txt", "best/tokenizer_config.json",
                     "last/config.json", "last/model.safetensors", "last/optimizer.safetensors", "last/trainer_state.json",
                     "last/vocab.txt", "reports/dev.txt", "reports/dev.json", "reports/test.txt", "reports/test.json",
                     "predictions/dev.conll", "predictions/test.conll", "training.svg"] {
            #expect(fm.fileExists(atPath: run.appendingPathComponent(file).path), "missing \(file)")
        }
        // Nothing half-written is left beside the checkpoints.
        let leftovers = try fm.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") || $0.hasPrefix("last.") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        // options.json reads back as the options the run was given.
        let saved = try JSONDecoder().decode(TrainingOptions.self, from: Data(contentsOf: run.appendingPathComponent("options.json")))
        #expect(saved == task.options(output: run, epochs: 2))
        let labels = try LabelSet.load(from: run.appendingPathComponent("labels.json"))
        #expect(labels.labels == ["O", "B-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"])

        // best/ is a HuggingFace token classifier with our labels.
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("best/config.json"))) as? [String: Any])
        #expect(config["architectures"] as? [String] == ["BertForTokenClassification"])
        #expect(config["id2label"] as? [String: String] == Dictionary(uniqueKeysWithValues: labels.labels.enumerated().map { (String($0.offset), $0.element) }))
        #expect(config["label2id"] as? [String: Int] == labels.label2id)
        let best = try Checkpoint(directory: run.appendingPathComponent("best"))
        #expect(best.hasClassifier && best.labels == labels.labels)

        // The resumable state says the run finished.
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: run.appendingPathComponent("last/trainer_state.json")))
        #expect(state.finished && state.epoch == 2 && state.step == summary.steps)

        // One evaluation per epoch, one step row per step.
        let steps = try metricsRows(run, "steps")
        #expect(column(steps, "step") == (1...summary.steps).map(Double.init))
        let evaluations = try metricsRows(run, "evaluations")
        #expect(column(evaluations, "epoch") == [1, 2])
        let csv = try String(contentsOf: run.appendingPathComponent("metrics/steps.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").first == "step,epoch,loss,learning_rate,grad_norm,tokens_per_second,elapsed_seconds")
        #expect(csv.split(separator: "\n").count == summary.steps + 1)

        // The predictions files score, with our own seqeval, to exactly the numbers in the reports.
        for name in ["dev", "test"] {
            let predictions = try CoNLLReader(labelColumn: -1).read(contentsOf: run.appendingPathComponent("predictions/\(name).conll"))
            let gold = try CoNLLReader(labelColumn: -2).read(contentsOf: run.appendingPathComponent("predictions/\(name).conll"))
            let source = try CoNLLReader(labelColumn: -1).read(contentsOf: name == "dev" ? task.dev : task.test)
            #expect(gold.sentences.map(\.labels) == source.sentences.map(\.labels), "the gold column is the input's")
            #expect(predictions.sentences.first?.columnCount == 4, "the input's three columns and the prediction")
            let report = try classificationReport(gold: gold.sentences.map { $0.labels! }, predicted: predictions.sentences.map { $0.labels! })
            let saved = try Data(contentsOf: run.appendingPathComponent("reports/\(name).json"))
            #expect(try report.jsonData(prettyPrinted: true, includingScoring: true) == saved)
            let text = try String(contentsOf: run.appendingPathComponent("reports/\(name).txt"), encoding: .utf8)
            #expect(text == "scoring: entities (seqeval, default mode)\n\n" + report.formatted(digits: 4)
                    + String(format: "\ntoken accuracy %.4f\n", report.accuracy))
            if name == "dev" { #expect(summary.devReport == report) } else { #expect(summary.testReport == report) }
        }
        // Document lines survive into the predictions.
        let devPredictions = try String(contentsOf: run.appendingPathComponent("predictions/dev.conll"), encoding: .utf8)
        let devInput = try String(contentsOf: task.dev, encoding: .utf8)
        #expect(devPredictions.components(separatedBy: "-DOCSTART-").count == devInput.components(separatedBy: "-DOCSTART-").count)

        let svg = try String(contentsOf: run.appendingPathComponent("training.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("<polyline"))
        #expect(messages.contains { $0.hasPrefix("note: new classifier for 6 labels") })
        // Dev is not evaluated again at the end: the evaluation that found the best model is reported.
        #expect(messages.contains("dev (best model): the evaluation at step \(summary.bestStep ?? -1)"), "\(messages)")
    }

    @Test func sentencesLongerThanMaxLengthAreTrainedInWindowsAndTaggedWhole() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 1)
        options.maxLength = 6  // [CLS] + 4 words + [SEP]: most sentences need two or three windows
        options.stride = 1
        let (summary, messages) = try TinyTaggingTask.run(options)
        let line = try #require(messages.first { $0.contains("training sequences") })
        let sequences = Int(line.prefix { $0.isNumber }) ?? 0
        #expect(sequences > 60, "60 sentences cut into windows: \(line)")
        let predictions = try CoNLLReader(labelColumn: -1).read(contentsOf: run.appendingPathComponent("predictions/dev.conll"))
        let source = try CoNLLReader(labelColumn: -1).read(contentsOf: task.dev)
        #expect(predictions.sentences.map(\.words.count) == source.sentences.map(\.words.count))
        #expect(predictions.sentences.allSatisfy { $0.labels!.allSatisfy { !$0.isEmpty } })
        // Every gold entity of dev is scored, however its sentence was cut.
        let gold = try classificationReport(gold: source.sentences.map { $0.labels! }, predicted: source.sentences.map { $0.labels! })
        #expect(summary.devReport?.microAverage.support == gold.microAverage.support)
    }

    /// In either precision: BF16 products change the rounding, not what is learnt.
    @Test(arguments: [PrecisionChoice.fp32, .bf16])
    func trainingLearnsTheSyntheticTask(precision: PrecisionChoice) throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 8)
        options.precision = precision
        let (summary, messages) = try TinyTaggingTask.run(options)
        #expect(messages.contains("matrix products in \(precision.resolved)"), "\(messages)")
        let saved = try JSONDecoder().decode(TrainingOptions.self, from: Data(contentsOf: run.appendingPathComponent("options.json")))
        #expect(saved.precision == precision)
        let losses = column(try metricsRows(run, "steps"), "loss")
        let f1 = column(try metricsRows(run, "evaluations"), "f1")
        let perEpoch = losses.count / 8
        let firstEpoch = mean(losses.prefix(perEpoch)), lastEpoch = mean(losses.suffix(perEpoch))
        #expect(lastEpoch < 0.5 * firstEpoch, "mean loss of the first epoch \(firstEpoch), of the last \(lastEpoch)")
        // A fresh classifier finds almost no entity; eight epochs find most of them.
        #expect((f1.first ?? 1) < 0.3)
        #expect((summary.bestScore ?? 0) > 0.6, "dev F1 by epoch: \(f1)")
        #expect(approximatelyEqual(summary.bestScore, f1.max()))
        #expect((summary.testReport?.microAverage.f1Score ?? 0) > 0.5)
    }
}
