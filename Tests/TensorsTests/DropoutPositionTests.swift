import Foundation
import Testing
@testable import Tensors

/// A rank of a data-parallel step runs the tail of a batch alone: with the position of its first token given,
/// its dropout masks are the ones the whole batch draws for those tokens, in every dropout site.
@Suite struct DropoutPositionTests {
    let C = 12, NH = 3

    @Test func theTailOfABatchDrawsTheWholeBatchsResidualDropoutMask() {
        let T = 40, split = 17
        var r = TestRandom(41)
        let projection = r.floats(T * C), skip = r.floats(T * C), w = r.floats(C), b = r.floats(C)
        let mask = DropoutMask(probability: 0.3, random: CounterRandom(key: 9))
        var whole = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        var residual = projection
        residualLayerNormForward(&whole, &mean, &rstd, &residual, residual, skip, w, b, T: T, C: C, eps: 1e-12,
                                 dropout: mask)

        let tail = split * C ..< T * C
        var part = [Float](repeating: 0, count: tail.count), partMean = [Float](repeating: 0, count: T - split)
        var partRstd = partMean, partResidual = Array(projection[tail])
        var shifted = mask
        shifted.firstRow = split
        residualLayerNormForward(&part, &partMean, &partRstd, &partResidual, partResidual, Array(skip[tail]), w, b,
                                 T: T - split, C: C, eps: 1e-12, dropout: shifted)
        #expect(part == Array(whole[tail]))
        #expect(partResidual == Array(residual[tail]))

        // Without the position, the tail draws the head's mask: another result.
        var unshifted = [Float](repeating: 0, count: tail.count), again = Array(projection[tail])
        var otherMean = partMean, otherRstd = partRstd
        residualLayerNormForward(&unshifted, &otherMean, &otherRstd, &again, again, Array(skip[tail]), w, b,
                                 T: T - split, C: C, eps: 1e-12, dropout: mask)
        #expect(unshifted != Array(whole[tail]))

        // The backward regenerates the same mask from the same position.
        let dout = r.floats(T * C)
        var dWhole = [Float](repeating: 0, count: T * C), dProjWhole = dWhole
        var dw = [Float](repeating: 0, count: C), db = dw
        residualLayerNormBackward(&dWhole, &dProjWhole, &dw, &db, dout, residual, w, mean, rstd, T: T, C: C, dropout: mask)
        var dPart = [Float](repeating: 0, count: tail.count), dProjPart = dPart
        residualLayerNormBackward(&dPart, &dProjPart, &dw, &db, Array(dout[tail]), partResidual, w, partMean, partRstd,
                                  T: T - split, C: C, dropout: shifted)
        #expect(dProjPart == Array(dProjWhole[tail]))
    }

    @Test func theTailOfABatchDrawsTheWholeBatchsAttentionDropoutMask() {
        let lengths = [5, 12, 9, 14]
        let offsets = lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = lengths.count
        var r = TestRandom(42)
        let q = r.floats(T * C, scale: 2), k = r.floats(T * C, scale: 2), v = r.floats(T * C)
        let scratch = AttentionScratch(maxSequenceLength: 16, headSize: C / NH, workers: 2)
        let dropout = AttentionDropout(probability: 0.25, random: CounterRandom(key: 5))
        var whole = [Float](repeating: 0, count: T * C)
        attentionForward(&whole, q, k, v, offsets, B: B, NH: NH, C: C, dropout: dropout, scratch: scratch)

        // The last two sequences alone, as a second rank runs them.
        let first = Int(offsets[2]), tail = first * C ..< T * C
        let tailOffsets = offsets[2...].map { $0 - offsets[2] }
        var shifted = dropout
        shifted.firstToken = first
        var part = [Float](repeating: 0, count: tail.count)
        attentionForward(&part, Array(q[tail]), Array(k[tail]), Array(v[tail]), Array(tailOffsets), B: 2, NH: NH, C: C,
                         dropout: shifted, scratch: scratch)
        #expect(maxAbsDifference(part, Array(whole[tail])) == 0)

        var unshifted = [Float](repeating: 0, count: tail.count)
        attentionForward(&unshifted, Array(q[tail]), Array(k[tail]), Array(v[tail]), Array(tailOffsets), B: 2, NH: NH,
                         C: C, dropout: dropout, scratch: scratch)
        #expect(maxAbsDifference(unshifted, Array(whole[tail])) > 0)
    }
}
