import Foundation
import Tensors
import Testing
@testable import BERT

/// A training model splits a batch's sequences between lanes as inference does: each lane runs the encoder's
/// forward and backward on its own rows on a thread of its own, sums its share of the layers' gradients apart,
/// and the shares are added once the lanes are done.
@Suite struct LaneTrainingTests {
    /// With dropout on, the loss and logits of a batch run in lanes are those of the batch in one piece, bit for
    /// bit (every row draws the masks of its place in the batch), and every gradient is within 1e-5 of the largest
    /// gradient (the same terms, summed lane by lane and then added). Two backwards accumulate without zeroing in
    /// between, and a second step on other parameters follows the first: the lanes' own gradient slabs are clear
    /// after each backward.
    @Test(.enabled(if: BLAS.productsRunOnCallingThread, "lanes multiply on oneDNN"),
          arguments: [GEMMPrecision.fp32, .bf16])
    func lanesGiveTheLossAndGradientsOfTheBatchInOnePiece(precision: GEMMPrecision) throws {
        let config = InferencePlanTests.config(.gelu), tokens = 600
        let inLanes = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5, precision: precision)
        let inOnePiece = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5, precision: precision)
        try #require(inLanes.laneCapacity >= 2, "a model plans scratch for one lane a thread")
        let trained = perturbedModel(config, maxTokens: 16, seed: 7)
        withExtendedLifetime(trained) {
            _ = inLanes.parameters.update(fromContentsOf: trained.parameters)
            _ = inOnePiece.parameters.update(fromContentsOf: trained.parameters)
        }
        inLanes.laneLimit = 2
        inOnePiece.laneLimit = 1
        let batch = InferencePlanTests.unevenBatch(tokens: tokens)
        let labels = (0 ..< batch.ids.count).map { $0 % 7 == 3 ? -100 : Int32($0 % 5) }
        for step in 0 ..< 2 {
            for model in [inLanes, inOnePiece] { model.zeroGradients() }
            for pass in 0 ..< 2 {
                var losses: [Float] = []
                for model in [inLanes, inOnePiece] {
                    let loss = try #require(try model.forward(inputIDs: batch.ids, positionIDs: batch.positions,
                                                              sequenceOffsets: batch.offsets, labels: labels, training: true))
                    model.backward()
                    losses.append(loss)
                }
                #expect(inLanes.lastLaneCount == 2 && inOnePiece.lastLaneCount == 1)
                #expect(losses[0].bitPattern == losses[1].bitPattern, "\(precision), step \(step), pass \(pass): loss \(losses)")
                #expect(zip(inLanes.logits, inOnePiece.logits).allSatisfy { $0.bitPattern == $1.bitPattern },
                        "\(precision), step \(step), pass \(pass): the logits differ")
            }
            let split = Array(inLanes.gradients), whole = Array(inOnePiece.gradients)
            let largest = whole.map(abs).max() ?? 0
            let worst = zip(split, whole).map { abs($0 - $1) }.max() ?? 0
            #expect(largest > 0 && worst <= 1e-5 * largest,
                    "\(precision), step \(step): largest gradient difference \(worst) against largest gradient \(largest)")
            // The same step on both (by the gradients of the batch in one piece), so that the next forward runs on
            // other parameters.
            let stepped = Array(inOnePiece.parameterValues).enumerated().map { $0.element - 0.01 * whole[$0.offset] }
            for model in [inLanes, inOnePiece] { _ = model.parameters.update(fromContentsOf: stepped) }
        }
    }

    /// A backward run in lanes hands the gradient slab out to `gradientsFinal` as one without lanes does: the
    /// classifier, the encoder layers (here one range, once the lanes' shares are added), then the embeddings,
    /// contiguous ranges covering the slab, each already holding its final values when handed out.
    @Test(.enabled(if: BLAS.productsRunOnCallingThread, "lanes multiply on oneDNN"))
    func gradientsHandedOutFromLanesAreFinal() throws {
        let config = InferencePlanTests.config(.gelu), tokens = 600
        let model = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5, precision: .fp32)
        try #require(model.laneCapacity >= 2, "a model plans scratch for one lane a thread")
        model.laneLimit = 2
        let batch = InferencePlanTests.unevenBatch(tokens: tokens)
        let labels = (0 ..< batch.ids.count).map { Int32($0 % 5) }
        model.zeroGradients()
        try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: labels, training: true)
        var handedOut: [(range: Range<Int>, values: [Float])] = []
        model.gradientsFinal = { range in
            handedOut.append((range, Array(model.gradients[range])))
        }
        model.backward()
        model.gradientsFinal = nil
        #expect(model.lastLaneCount == 2)
        let total = model.layout.totalCount
        #expect(handedOut.count == 3, "ranges: \(handedOut.map(\.range))")
        #expect(handedOut.first?.range.upperBound == total && handedOut.last?.range.lowerBound == 0)
        for (later, earlier) in zip(handedOut.dropFirst(), handedOut) {
            #expect(later.range.upperBound == earlier.range.lowerBound, "\(earlier.range) then \(later.range)")
        }
        let final = Array(model.gradients)
        for part in handedOut {
            #expect(zip(part.values, final[part.range]).allSatisfy { $0.bitPattern == $1.bitPattern },
                    "the gradients of \(part.range) changed after they were handed out")
        }
    }
}
