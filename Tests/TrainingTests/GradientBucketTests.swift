import BERT
import Testing
@testable import Training

/// The parts of the gradient slab a data-parallel step sums during backward.
@Suite struct GradientBucketTests {
    @Test func backwardFinishesTheSlabInTheOrderTheStepSumsItEachPartOnceAndWhole() throws {
        let config = BertConfig(vocabSize: 30, hiddenSize: 8, numHiddenLayers: 3, numAttentionHeads: 2, intermediateSize: 12,
                                maxPositionEmbeddings: 16)
        let model = BertForTokenClassification(config: config, numLabels: 3, maxTokens: 16, seed: 1)
        var finished: [Range<Int>] = []
        // What was final when each part was handed over must not change after it: the part's gradients are copied then.
        var copies: [[Float]] = []
        model.gradientsFinal = { range in
            finished.append(range)
            copies.append(Array(model.gradients[range]))
        }
        try model.forward(inputIDs: [2, 7, 9, 3, 2, 11, 3], positionIDs: [0, 1, 2, 3, 0, 1, 2], sequenceOffsets: [0, 4, 7],
                          labels: [-100, 1, 2, -100, -100, 0, -100], training: true)
        model.backward()

        let buckets = TrainingStep.buckets(layout: model.layout, layers: config.numHiddenLayers)
        #expect(finished == buckets)
        #expect(buckets.count == config.numHiddenLayers + 2)
        // Classifier at the slab's end, layers from the last down, embeddings from 0: together the whole slab, once.
        #expect(buckets.first?.upperBound == model.layout.totalCount)
        #expect(buckets.last?.lowerBound == 0)
        for (later, earlier) in zip(buckets.dropFirst(), buckets) { #expect(later.upperBound == earlier.lowerBound) }
        #expect(buckets.map(\.count).reduce(0, +) == model.layout.totalCount)
        for (range, copy) in zip(finished, copies) {
            #expect(Array(model.gradients[range]) == copy, "part \(range) changed after backward handed it over")
        }
        #expect(copies.allSatisfy { $0.contains { $0 != 0 } }, "every part has gradients")
    }
}
