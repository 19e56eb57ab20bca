import Datasets
import Foundation
import Testing
@testable import Training

/// When the trainer evaluates, what it judges the best model by, and when it stops.
@Suite(.serialized) struct EvaluationScheduleTests {
    /// A learning rate so small that no weight changes in Float: every evaluation scores the same, so none
    /// after the first is an improvement.
    static let frozen = 1e-12

    @Test func patienceStopsAfterThatManyEvaluationsWithoutImprovement() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 6, learningRate: Self.frozen)
        options.patience = 2
        let (summary, messages) = try TinyTaggingTask.run(options)

        let evaluations = try metricsRows(run, "evaluations")
        #expect(column(evaluations, "epoch") == [1, 2, 3])
        #expect(column(evaluations, "best") == [1, 0, 0])
        #expect(summary.steps == ResumeTests.batches(epochs: 3) && summary.bestStep == ResumeTests.batches(epochs: 1))
        #expect(messages.contains("no better dev f1 in 2 evaluations: stopping early"))
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: run.appendingPathComponent("last/trainer_state.json")))
        #expect(state.finished)
        // The stopped run still reports on its best model.
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("reports/test.json").path))
    }

    @Test func evalEveryEvaluatesMidEpochAndAtEveryEpochsEnd() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 2)
        options.evalEvery = 3
        let (summary, _) = try TinyTaggingTask.run(options)
        let evaluations = try metricsRows(run, "evaluations")
        // Every third optimizer step of the run, and each epoch's end (after 6 and 13 steps).
        #expect(column(evaluations, "step") == [3, 6, 9, 12, 13])
        let epochs = column(evaluations, "epoch")
        let expected = [3.0 / 6, 1, 1 + 3.0 / 7, 1 + 6.0 / 7, 2]
        #expect(zip(epochs, expected).allSatisfy { abs($0 - $1) < 1e-9 }, "\(epochs)")
        #expect(approximatelyEqual(summary.bestScore, column(evaluations, "f1").max()))
        // Every evaluation also saved a resumable state.
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: run.appendingPathComponent("last/trainer_state.json")))
        #expect(state.step == 13)
    }

    @Test func patienceWithEvalEveryStopsMidEpochAndTheRunStaysFinished() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 3, learningRate: Self.frozen)
        options.evalEvery = 2
        options.patience = 1
        let (summary, messages) = try TinyTaggingTask.run(options)
        #expect(column(try metricsRows(run, "evaluations"), "step") == [2, 4])
        #expect(summary.steps == 4 && !summary.interrupted)
        #expect(messages.contains("no better dev f1 in 1 evaluation: stopping early"))
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("reports/dev.json").path))
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: run.appendingPathComponent("last/trainer_state.json")))
        #expect(state.finished, "a resumed early-stopped run must not train on")

        // Resuming a finished run trains no further: it only reports on the best model again.
        var stepsAfterResume = 0
        let resumed = try TinyTaggingTask.run(options, resume: true) { _ in stepsAfterResume += 1 }
        #expect(stepsAfterResume == 0 && resumed.summary.steps == 4)
    }

    @Test func aNonSchemeLabelColumnSelectsAccuracy() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 3)
        options.labelColumn = 1  // the POS tags
        let (summary, messages) = try TinyTaggingTask.run(options)
        #expect(summary.metric == .accuracy)
        #expect(messages.contains { $0.hasSuffix("metric: dev accuracy") })
        let labels = try LabelSet.load(from: run.appendingPathComponent("labels.json"))
        #expect(labels.labels.contains("NNP") && labels.labels.contains("VBD") && !labels.labels.contains("B-PER"))

        let evaluations = try metricsRows(run, "evaluations")
        let accuracy = column(evaluations, "accuracy")
        // The best model is the one with the best accuracy, whatever seqeval's F1 makes of POS tags.
        #expect(approximatelyEqual(summary.bestScore, accuracy.max()))
        #expect(approximatelyEqual(summary.devReport?.accuracy, accuracy.max()))
        #expect((summary.bestScore ?? 0) > 0.5, "dev accuracy by epoch: \(accuracy)")
        // Predictions are POS tags after the input's columns.
        let predictions = try CoNLLReader(labelColumn: -1).read(contentsOf: run.appendingPathComponent("predictions/dev.conll"))
        #expect(Set(predictions.sentences.flatMap { $0.labels! }).isSubset(of: Set(labels.labels)))
        let plot = try String(contentsOf: run.appendingPathComponent("training.svg"), encoding: .utf8)
        #expect(plot.contains("dev accuracy"), "the plot shows the metric the run is judged by")
    }

    @Test func anExplicitMetricOverridesTheDefault() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        var options = task.options(output: run, epochs: 1)
        options.metric = .accuracy
        let (summary, _) = try TinyTaggingTask.run(options)
        #expect(summary.metric == .accuracy)
        #expect(summary.bestScore == summary.devReport?.accuracy)
    }

    @Test func aRunResumedAfterItsBestEvaluationReportsTheSameDevResults() throws {
        // A finished run reports the evaluation that found its best model; a run resumed after that
        // evaluation no longer holds it and evaluates the saved best model: both must give the same results.
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let whole = task.runDirectory("whole"), resumed = task.runDirectory("resumed")
        func options(_ output: URL) -> TrainingOptions { task.options(output: output, epochs: 2, learningRate: Self.frozen) }
        let reference = try TinyTaggingTask.run(options(whole))
        let firstEpoch = ResumeTests.batches(epochs: 1)
        #expect(reference.summary.bestStep == firstEpoch)
        #expect(reference.messages.contains("dev (best model): the evaluation at step \(firstEpoch)"), "\(reference.messages)")

        let interruption = Interruption()
        try TinyTaggingTask.run(options(resumed), interruption: interruption) { step in
            if step == firstEpoch { interruption.request() }
        }
        let finished = try TinyTaggingTask.run(options(resumed), resume: true)
        #expect(finished.summary.bestStep == firstEpoch)
        #expect(!finished.messages.contains { $0.hasPrefix("dev (best model): the evaluation") })
        #expect(finished.summary.devReport == reference.summary.devReport)
        for file in ["predictions/dev.conll", "reports/dev.json", "reports/dev.txt"] {
            #expect(try Data(contentsOf: resumed.appendingPathComponent(file)) == Data(contentsOf: whole.appendingPathComponent(file)), "\(file)")
        }
    }
}
