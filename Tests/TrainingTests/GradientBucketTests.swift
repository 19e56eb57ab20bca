import BERT
import DataParallel
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

/// Two ranks that never talk, whose library grants no thread support.
private final class UnthreadedPair: Communicator {
    var rank: Int { 0 }
    var size: Int { 2 }
    var summary: String { "a pair without threads" }
    var callsFromAnyThread: Bool { false }
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Int64>) throws {}
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {}
    func barrier() throws {}
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? { [bytes] }
    func finalize() {}
    func abortAll(code: Int32) {}
}

extension GradientBucketTests {
    @Test func overlapAskedOfAnMPILibraryWithoutThreadSupportSumsAfterBackward() throws {
        let config = BertConfig(vocabSize: 30, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 12,
                                maxPositionEmbeddings: 16)
        let model = BertForTokenClassification(config: config, numLabels: 3, maxTokens: 16, seed: 1)
        let optimizer = AdamW(layout: model.layout, learningRate: 1e-3, weightDecay: 0)
        let step = try TrainingStep(model: model, optimizer: optimizer, communicator: UnthreadedPair(), maxGradNorm: 1,
                                    reduction: .overlap)
        #expect(step.reduction == .afterBackward)
        let alone = try TrainingStep(model: model, optimizer: optimizer, communicator: SingleProcess(), maxGradNorm: 1,
                                     reduction: .overlap)
        #expect(alone.reduction == .overlap)
    }
}
