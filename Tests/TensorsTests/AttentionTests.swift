import Foundation
import Testing
@testable import Tensors

@Suite struct AttentionTests {
    let C = 12, NH = 3

    func inputs(_ T: Int, seed: UInt64) -> (q: [Float], k: [Float], v: [Float]) {
        var r = TestRandom(seed)
        return (r.floats(T * C, scale: 2), r.floats(T * C, scale: 2), r.floats(T * C))
    }

    @Test func packedMatchesNaiveReferenceAndOneByOne() {
        let lengths = [5, 1, 17, 9, 30]
        let offsets = lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = lengths.count
        let (q, k, v) = inputs(T, seed: 20)
        let scratch = AttentionScratch(maxSequenceLength: 30, headSize: C / NH, workers: 2)
        var packed = [Float](repeating: 0, count: T * C), reference = packed
        attentionForward(&packed, q, k, v, offsets, B: B, NH: NH, C: C, dropout: nil, scratch: scratch)
        attentionForwardReference(&reference, q, k, v, offsets, B: B, NH: NH, C: C)
        #expect(maxAbsDifference(packed, reference) < 1e-5, "largest difference \(maxAbsDifference(packed, reference))")
        for b in 0 ..< B {
            let range = Int(offsets[b]) * C ..< Int(offsets[b + 1]) * C
            var alone = [Float](repeating: 0, count: range.count)
            attentionForward(&alone, Array(q[range]), Array(k[range]), Array(v[range]), [0, Int32(lengths[b])],
                             B: 1, NH: NH, C: C, dropout: nil, scratch: scratch)
            #expect(Array(packed[range]) == alone, "sequence \(b) differs when run alone")
        }
    }

    /// On q, k and v side by side in one [T, 3C] matrix (inference's fused projection), attention of some of the
    /// sequences gives the bits of `attentionForward` on the three apart for those sequences' rows and writes no
    /// other row: serially on a worker's area and on every thread alike (C = 64 takes the kernels' blocks of
    /// sixteen channels; 12 their other path).
    @Test(arguments: [12, 64])
    func attentionOnQueryKeyValueSideBySideGivesTheBitsOfTheThreeApart(channels: Int) {
        let C = channels, NH = channels == 12 ? 3 : 2
        let lengths = [5, 0, 17, 1, 30, 9]
        let offsets = lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = lengths.count
        var r = TestRandom(31)
        let q = r.floats(T * C, scale: 2), k = r.floats(T * C, scale: 2), v = r.floats(T * C)
        var qkv = [Float](repeating: 0, count: T * 3 * C)
        for t in 0 ..< T {
            for (i, x) in [q, k, v].enumerated() { qkv[(t * 3 + i) * C ..< (t * 3 + i + 1) * C] = x[t * C ..< (t + 1) * C] }
        }
        let scratch = AttentionScratch(maxSequenceLength: 30, headSize: C / NH, workers: 2)
        var apart = [Float](repeating: 0, count: T * C)
        attentionForward(&apart, q, k, v, offsets, B: B, NH: NH, C: C, dropout: nil, scratch: scratch)
        for worker in [nil, 0, 1] {
            for sequences in [0 ..< B, 2 ..< 5, 1 ..< 2] {
                var joined = [Float](repeating: .nan, count: T * C)
                attentionForward(&joined, queryKeyValue: qkv, offsets, sequences: sequences, NH: NH, C: C,
                                 scratch: scratch, worker: worker)
                let rows = Int(offsets[sequences.lowerBound]) * C ..< Int(offsets[sequences.upperBound]) * C
                let same = zip(joined[rows], apart[rows]).allSatisfy { $0.bitPattern == $1.bitPattern }
                let untouched = joined.indices.filter { !rows.contains($0) }.allSatisfy { joined[$0].isNaN }
                #expect(same, "C \(C), worker \(worker.map(String.init) ?? "nil"), sequences \(sequences): values differ")
                #expect(untouched, "C \(C), worker \(worker.map(String.init) ?? "nil"), sequences \(sequences): other rows written")
            }
        }
    }

    /// Double attention with the same dropout mask, for finite differences.
    func referenceLoss(_ q: [Double], _ k: [Double], _ v: [Double], _ offsets: [Int32], dout: [Float],
                       dropout: AttentionDropout?, maxLength: Int) -> Double {
        let hs = C / NH, scale = 1 / Double(hs).squareRoot()
        var total = 0.0
        for b in 0 ..< offsets.count - 1 {
            let start = Int(offsets[b]), end = Int(offsets[b + 1]), n = end - start
            for h in 0 ..< NH {
                let random = dropout.map { $0.random.derived(UInt64(h)) }
                for i in 0 ..< n {
                    var s = [Double](repeating: 0, count: n)
                    for j in 0 ..< n {
                        for d in 0 ..< hs {
                            let qi: Double = q[(start + i) * C + h * hs + d]
                            let kj: Double = k[(start + j) * C + h * hs + d]
                            s[j] += qi * kj * scale
                        }
                    }
                    let m = s.max()!
                    s = s.map { Foundation.exp($0 - m) }
                    let z = s.reduce(0, +)
                    var p = s.map { $0 / z }
                    if let dropout, let random {
                        let ones = [Float](repeating: 1, count: n)
                        var mask = ones
                        dropoutRowForward(&mask, ones, count: n, probability: dropout.probability, random: random,
                                          counterBase: UInt32((start + i) * maxLength))
                        p = zip(p, mask).map { $0 * Double($1) }
                    }
                    for d in 0 ..< hs {
                        var o = 0.0
                        for j in 0 ..< n {
                            let vj: Double = v[(start + j) * C + h * hs + d]
                            o += p[j] * vj
                        }
                        total += Double(dout[(start + i) * C + h * hs + d]) * o
                    }
                }
            }
        }
        return total
    }

    /// Tolerance: 1e-4 relative to the largest gradient, against Double central differences.
    @Test(arguments: [false, true])
    func backwardMatchesFiniteDifferences(withDropout: Bool) {
        let offsets: [Int32] = [0, 3, 4, 8]
        let T = 8, B = 3, maxLength = 8
        let (q, k, v) = inputs(T, seed: 21)
        var r = TestRandom(22)
        let dout = r.floats(T * C)
        let dropout = withDropout ? AttentionDropout(probability: 0.25, random: CounterRandom(key: 3)) : nil
        let scratch = AttentionScratch(maxSequenceLength: maxLength, headSize: C / NH, workers: 2)
        var out = [Float](repeating: 0, count: T * C)
        attentionForward(&out, q, k, v, offsets, B: B, NH: NH, C: C, dropout: dropout, scratch: scratch)
        let lossFromForward = dot(dout.doubles, out.doubles)
        let lossFromReference = referenceLoss(q.doubles, k.doubles, v.doubles, offsets, dout: dout,
                                              dropout: dropout, maxLength: maxLength)
        #expect(abs(lossFromForward - lossFromReference) < 1e-4)
        var dq = [Float](repeating: 5, count: T * C), dk = dq, dv = dq
        attentionBackward(&dq, &dk, &dv, dout, q, k, v, offsets, B: B, NH: NH, C: C, dropout: dropout,
                          scratch: scratch)
        let (qd, kd, vd) = (q.doubles, k.doubles, v.doubles)
        let nq = numericGradient(qd) { referenceLoss($0, kd, vd, offsets, dout: dout, dropout: dropout, maxLength: maxLength) }
        let nk = numericGradient(kd) { referenceLoss(qd, $0, vd, offsets, dout: dout, dropout: dropout, maxLength: maxLength) }
        let nv = numericGradient(vd) { referenceLoss(qd, kd, $0, offsets, dout: dout, dropout: dropout, maxLength: maxLength) }
        #expect(scaledMaxError(dq, nq) < 1e-4)
        #expect(scaledMaxError(dk, nk) < 1e-4)
        #expect(scaledMaxError(dv, nv) < 1e-4)
    }
}
