import BERT
import DataParallel
import Datasets
import Foundation
import Testing
import Tensors
@testable import Training

/// A training step's update skips the word embedding's rows that no batch of the step had.
@Suite struct SparseUpdateTests {
    /// Three steps (one of two micro-batches, whose averaging hands the gradients out) of a model whose steps skip the
    /// untouched rows, and of a twin whose gradients are handed out before every step, so that every update is dense:
    /// the parameters are the same bits after each.
    @Test func stepsThatSkipUntouchedWordRowsGiveTheDenseStepsBits() throws {
        let config = BertConfig(vocabSize: 60, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 12,
                                maxPositionEmbeddings: 32)
        let text = """
            John B-PER
            lives O
            in O
            Paris B-LOC

            Mary B-PER
            met O
            Peter B-PER

            Acme B-ORG
            hired O
            Anna B-PER
            in O
            Rome B-LOC

            Oslo B-LOC
            is O
            cold O

            """
        let corpus = try CoNLLReader().read(data: Data(text.utf8), file: "tiny.txt")
        var encoder = SentenceEncoder(unknownID: 0) { word in
            [Int32(3 + word.unicodeScalars.reduce(0) { ($0 &* 31 &+ Int($1.value)) % 57 })]
        }
        let dataset = try TokenClassificationDataset(corpus: corpus, encoder: &encoder, clsID: 1, sepID: 2,
                                                     labels: try LabelSet(collecting: corpus), windowing: Windowing(maxLength: 16))
        func steps(dense: Bool) throws -> [[UInt32]] {
            let model = BertForTokenClassification(config: config, numLabels: 7, maxTokens: 64, seed: 3)
            let optimizer = AdamW(layout: model.layout, learningRate: 1e-2, weightDecay: 0.01)
            let step = try TrainingStep(model: model, optimizer: optimizer, communicator: SingleProcess(), maxGradNorm: 1)
            var forwards: UInt64 = 0, after: [[UInt32]] = []
            for (index, microBatches) in [[[0, 1]], [[2]], [[3], [0]]].enumerated() {
                if dense { _ = model.gradients }
                _ = try step.run(microBatches, of: dataset, learningRate: 1e-2, forwards: &forwards, step: index + 1)
                after.append(model.parameterValues.map(\.bitPattern))
                #expect(model.gradients.allSatisfy { $0 == 0 })
            }
            return after
        }
        let sparse = try steps(dense: false), dense = try steps(dense: true)
        for (index, (s, d)) in zip(sparse, dense).enumerated() { #expect(s == d, "parameters after step \(index + 1)") }
        #expect(sparse[0] != sparse[2])
    }
}
