import BERT
import Datasets
import Foundation
import Tagger
import Tensors
import Testing
@testable import Training

/// `predict` loads its classifier for inference; it must tag exactly as the trainer's evaluation does.
@Suite(.serialized) struct InferenceClassifierTests {
    @Test func inferenceClassifierTagsAndScoresExactlyAsATrainingOne() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        Parallel.setThreadCount(1)
        let corpus = try CoNLLReader(labelColumn: -1).read(contentsOf: task.dev)
        let labels = try LabelSet(collecting: corpus).labels
        let load = { (purpose: ModelPurpose) in
            try TokenClassifier(directory: task.model, labels: labels, maxTokens: 96, seed: 11, purpose: purpose)
        }
        let training = try load(.training), inference = try load(.inference)
        #expect(training.model.purpose == .training && inference.model.purpose == .inference)
        #expect(inference.model.plannedFloatCount * 3 < training.model.plannedFloatCount)

        let dataset = try inference.dataset(corpus, labelled: true, windowing: try Windowing(maxLength: inference.maxLength))
        let batches = try dataset.batches(try BatchPlanner(maxTokens: 96), order: .lengthSorted)
        #expect(batches.count > 1)
        let expected = try training.predict(dataset, batches: batches)
        let found = try inference.predict(dataset, batches: batches)
        #expect(found.predictions == expected.predictions)
        let expectedLoss = try #require(expected.loss), foundLoss = try #require(found.loss)
        #expect(foundLoss.bitPattern == expectedLoss.bitPattern, "loss \(foundLoss) vs \(expectedLoss)")
    }
}
