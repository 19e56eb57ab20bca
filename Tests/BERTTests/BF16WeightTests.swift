import Foundation
import Tensors
import Testing
@testable import BERT

/// A BF16 model converts its projection weights once per change of the parameters, not at every product: the
/// copies must follow every change, or a product would silently use old weights.
@Suite struct BF16WeightTests {
    static let config = PrecisionTests.config

    /// Logits of a fresh BF16 inference model holding `parameters`: the weights converted at its first forward.
    static func freshLogits(_ parameters: UnsafeMutableBufferPointer<Float>, batch: TinyBatch) throws -> [Float] {
        let fresh = BertForTokenClassification(config: config, numLabels: 5, maxTokens: 16, seed: 99, precision: .bf16,
                                               purpose: .inference)
        _ = fresh.parameters.update(fromContentsOf: parameters)
        try fresh.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: nil, training: false)
        return Array(fresh.logits)
    }

    /// Parameters written through `parameters` after a forward (a checkpoint loaded into a tagger, an optimizer
    /// step) reach the next forward's products.
    @Test(arguments: [ModelPurpose.inference, .training])
    func parametersWrittenAfterAForwardReachTheNextForward(purpose: ModelPurpose) throws {
        let batch = TinyBatch()
        let model = BertForTokenClassification(config: Self.config, numLabels: 5, maxTokens: 16, seed: 3,
                                               precision: .bf16, purpose: purpose)
        try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: nil, training: false)
        let before = Array(model.logits)
        // Every projection weight of layer 0 and the last layer, scaled.
        for entry in model.layout.entries where entry.name.contains("layer.0.") || entry.name.contains("layer.1.") {
            guard entry.decays else { continue }
            for i in entry.range { model.parameters[i] *= 1.5 }
        }
        try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: nil, training: false)
        let after = Array(model.logits)
        #expect(after != before, "the scaled weights did not change the logits")
        let expected = try Self.freshLogits(model.parameters, batch: batch)
        #expect(zip(after, expected).allSatisfy { $0.bitPattern == $1.bitPattern },
                "logits after the change differ from a fresh model's with the same parameters")
    }

    /// A training forward converts the weights whatever happened before it, so an update written through a
    /// buffer kept from before the last forward (as an optimizer may hold one) is still seen.
    @Test func aTrainingForwardSeesWritesThroughAKeptBuffer() throws {
        let batch = TinyBatch()
        let model = BertForTokenClassification(config: Self.config, numLabels: 5, maxTokens: 16, seed: 3,
                                               precision: .bf16)
        let kept = model.parameters
        try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: batch.labels, training: true)
        for entry in model.layout.entries where entry.decays { for i in entry.range { kept[i] *= 0.5 } }
        let training = try #require(try model.forward(inputIDs: batch.ids, positionIDs: batch.positions,
                                                      sequenceOffsets: batch.offsets, labels: batch.labels,
                                                      training: true))
        let reference = BertForTokenClassification(config: Self.config, numLabels: 5, maxTokens: 16, seed: 3,
                                                   precision: .bf16)
        _ = reference.parameters.update(fromContentsOf: kept)
        reference.trainingForwardCount = 1                  // the same dropout masks as the model's second forward
        let expected = try #require(try reference.forward(inputIDs: batch.ids, positionIDs: batch.positions,
                                                          sequenceOffsets: batch.offsets, labels: batch.labels,
                                                          training: true))
        #expect(training.bitPattern == expected.bitPattern, "loss \(training) against \(expected)")
    }
}
