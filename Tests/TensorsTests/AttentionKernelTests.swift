import Foundation
import Testing
@testable import Tensors

/// The fused attention kernel (scores, softmax, dropout and the product with V in one call per sequence and head) at
/// the encoder's head sizes, on sequence lengths on both sides of its sixteen-column blocks and up to the planned
/// maximum.
@Suite struct AttentionKernelTests {
    /// Lengths around the kernel's block of sixteen columns, 1, and the planned maximum (64).
    static let lengths = [1, 15, 16, 17, 33, 64, 7]
    static let maxLength = 64

    /// Forward against the naive Double reference: within 2e-5 absolute (outputs are averages of values in ±1).
    @Test(arguments: [(384, 12), (384, 6)])
    func forwardMatchesTheNaiveReferenceForHeadsOf32And64(C: Int, NH: Int) {
        let offsets = Self.lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = Self.lengths.count
        var r = TestRandom(70)
        let q = r.floats(T * C, scale: 2), k = r.floats(T * C, scale: 2), v = r.floats(T * C)
        let scratch = AttentionScratch(maxSequenceLength: Self.maxLength, headSize: C / NH, workers: 2)
        var out = [Float](repeating: .nan, count: T * C), reference = out
        attentionForward(&out, q, k, v, offsets, B: B, NH: NH, C: C, dropout: nil, scratch: scratch)
        attentionForwardReference(&reference, q, k, v, offsets, B: B, NH: NH, C: C)
        let difference = maxAbsDifference(out, reference)
        #expect(difference < 2e-5, "largest difference \(difference) for heads of \(C / NH)")
    }

    /// Dropout keeps the mask the row-wise dropout draws: counters (first token + start + i) · maxLength + j under
    /// the head's key, scaled by 1 / (1 - p), against the Double reference with that mask (2e-5 absolute).
    @Test func forwardDropsTheMaskOfTheRowwiseDropout() {
        let C = 64, NH = 2
        let offsets = Self.lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = Self.lengths.count
        var r = TestRandom(71)
        let q = r.floats(T * C, scale: 2), k = r.floats(T * C, scale: 2), v = r.floats(T * C)
        let dropout = AttentionDropout(probability: 0.3, random: CounterRandom(key: 8), firstToken: 5)
        let scratch = AttentionScratch(maxSequenceLength: Self.maxLength, headSize: C / NH, workers: 2)
        var out = [Float](repeating: .nan, count: T * C)
        attentionForward(&out, q, k, v, offsets, B: B, NH: NH, C: C, dropout: dropout, scratch: scratch)
        let reference = referenceForward(q.doubles, k.doubles, v.doubles, offsets, C: C, NH: NH, dropout: dropout)
        let difference = zip(out, reference).map { abs(Double($0) - $1) }.max()!
        #expect(difference < 2e-5, "largest difference \(difference)")
    }

    /// Backward against central differences of the Double reference along random directions: for each of q, k, v
    /// and three directions u, ⟨gradient, u⟩ within 1e-4 of (L(x + hu) - L(x - hu)) / 2h relative to |⟨gradient, u⟩|
    /// (at least 1), with and without dropout, heads of 32.
    @Test(arguments: [false, true])
    func backwardMatchesFiniteDifferencesForHeadsOf32(withDropout: Bool) {
        let C = 64, NH = 2, lengths = [17, 1, 33, 16]
        let offsets = lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = lengths.count
        var r = TestRandom(72)
        let q = r.floats(T * C, scale: 2), k = r.floats(T * C, scale: 2), v = r.floats(T * C), dout = r.floats(T * C)
        let dropout = withDropout ? AttentionDropout(probability: 0.2, random: CounterRandom(key: 9)) : nil
        let scratch = AttentionScratch(maxSequenceLength: Self.maxLength, headSize: C / NH, workers: 2)
        var dq = [Float](repeating: .nan, count: T * C), dk = dq, dv = dq
        attentionBackward(&dq, &dk, &dv, dout, q, k, v, offsets, B: B, NH: NH, C: C, dropout: dropout, scratch: scratch)
        let x = [q.doubles, k.doubles, v.doubles], gradients = [dq, dk, dv]
        func loss(_ inputs: [[Double]]) -> Double {
            dot(dout.doubles, referenceForward(inputs[0], inputs[1], inputs[2], offsets, C: C, NH: NH, dropout: dropout))
        }
        let h = 1e-5
        for (which, name) in ["q", "k", "v"].enumerated() {
            for _ in 0 ..< 3 {
                let u = r.floats(T * C).doubles
                var up = x, down = x
                up[which] = zip(x[which], u).map { $0 + h * $1 }
                down[which] = zip(x[which], u).map { $0 - h * $1 }
                let numeric = (loss(up) - loss(down)) / (2 * h)
                let analytic = dot(gradients[which].doubles, u)
                let error = abs(analytic - numeric) / max(1, abs(numeric))
                #expect(error < 1e-4, "d\(name) along a random direction: \(analytic) against \(numeric)")
            }
        }
    }

    /// Double attention with dropout's mask drawn by `dropoutRowForward` row by row, as the kernel must draw it.
    func referenceForward(_ q: [Double], _ k: [Double], _ v: [Double], _ offsets: [Int32], C: Int, NH: Int,
                          dropout: AttentionDropout?) -> [Double] {
        let hs = C / NH, scale = 1 / Double(hs).squareRoot()
        var out = [Double](repeating: 0, count: q.count)
        for b in 0 ..< offsets.count - 1 {
            let start = Int(offsets[b]), n = Int(offsets[b + 1]) - start
            for h in 0 ..< NH {
                for i in 0 ..< n {
                    var s = (0 ..< n).map { j in
                        (0 ..< hs).reduce(0.0) { $0 + q[(start + i) * C + h * hs + $1] * k[(start + j) * C + h * hs + $1] } * scale
                    }
                    let m = s.max()!
                    s = s.map { Foundation.exp($0 - m) }
                    let z = s.reduce(0, +)
                    var p = s.map { $0 / z }
                    if let dropout {
                        let ones = [Float](repeating: 1, count: n)
                        var mask = ones
                        dropoutRowForward(&mask, ones, count: n, probability: dropout.probability,
                                          random: dropout.random.derived(UInt64(h)),
                                          counterBase: UInt32((dropout.firstToken + start + i) * Self.maxLength))
                        p = zip(p, mask).map { $0 * Double($1) }
                    }
                    for d in 0 ..< hs {
                        out[(start + i) * C + h * hs + d] = (0 ..< n).reduce(0.0) { $0 + p[$1] * v[(start + $1) * C + h * hs + d] }
                    }
                }
            }
        }
        return out
    }
}

extension AttentionKernelTests {
    /// The kernel takes each query's softmax down a column of a transposed block, sixteen queries at a time; each
    /// query's probabilities are still the row softmax's (`softmaxForward`) over its scores, to the bit. Small
    /// integers make every score exact (scale 1/8 for heads of 64), and V the identity makes the output the
    /// probabilities themselves: every other term of an output is a probability times zero.
    @Test func eachQuerysProbabilitiesAreTheRowSoftmaxsBitsOfItsScores() {
        let hs = 64, NH = 1, C = hs
        let offsets = Self.lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = Self.lengths.count
        var r = TestRandom(74)
        let q = r.ints(T * C, below: 7).map { Float($0 - 3) }, k = r.ints(T * C, below: 7).map { Float($0 - 3) }
        var v = [Float](repeating: 0, count: T * C)
        for b in 0 ..< B {
            for j in Int(offsets[b]) ..< Int(offsets[b + 1]) { v[j * C + j - Int(offsets[b])] = 1 }
        }
        let scratch = AttentionScratch(maxSequenceLength: Self.maxLength, headSize: hs, workers: 2)
        var out = [Float](repeating: .nan, count: T * C)
        attentionForward(&out, q, k, v, offsets, B: B, NH: NH, C: C, dropout: nil, scratch: scratch)
        for b in 0 ..< B {
            let start = Int(offsets[b]), n = Int(offsets[b + 1]) - start
            var scores = [Float](repeating: 0, count: n * n), probabilities = scores
            for i in 0 ..< n {
                for j in 0 ..< n {
                    let dot = (0 ..< hs).reduce(Float(0)) { $0 + q[(start + i) * C + $1] * k[(start + j) * C + $1] }
                    scores[i * n + j] = dot * 0.125
                }
            }
            softmaxForward(&probabilities, scores, R: n, N: n)
            for i in 0 ..< n {
                let row = Array(out[(start + i) * C ..< (start + i) * C + n])
                #expect(row.map(\.bitPattern) == probabilities[i * n ..< (i + 1) * n].map(\.bitPattern),
                        "sequence of \(n), query \(i): \(row) against \(Array(probabilities[i * n ..< (i + 1) * n]))")
            }
        }
    }

    /// The output written straight into the output projection's BF16 input is the conversion of the single-precision
    /// output, to the bit, in both input formats, with dropout; the single-precision output is unchanged.
    @Test func bf16OutputIsTheConversionOfTheSinglePrecisionOne() {
        let C = 64, NH = 2
        let offsets = Self.lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let T = Int(offsets.last!), B = Self.lengths.count
        var r = TestRandom(73)
        let q = r.floats(T * C, scale: 2), k = r.floats(T * C, scale: 2), v = r.floats(T * C)
        let dropout = AttentionDropout(probability: 0.3, random: CounterRandom(key: 10), firstToken: 2)
        let scratch = AttentionScratch(maxSequenceLength: Self.maxLength, headSize: C / NH, workers: 2)
        var out = [Float](repeating: .nan, count: T * C)
        attentionForward(&out, q, k, v, offsets, B: B, NH: NH, C: C, dropout: dropout, scratch: scratch)
        for kernels in [BLAS.Kernels.oneDNN(isa: "bfloat16 format"), .emulatedBF16(reason: "rounded format")] {
            let expected = BF16Buffer(capacity: T * C, kernels: kernels).convert(out, count: T * C)
            let buffer = BF16Buffer(capacity: T * C, kernels: kernels)
            var fused = [Float](repeating: .nan, count: T * C)
            attentionForward(&fused, q, k, v, offsets, B: B, NH: NH, C: C, dropout: dropout, scratch: scratch,
                             converted: buffer.matrix(count: T * C))
            #expect(fused.map(\.bitPattern) == out.map(\.bitPattern), "\(kernels)")
            #expect((0 ..< T * C).allSatisfy { buffer.matrix(count: T * C).value(at: $0) == expected.value(at: $0) },
                    "\(kernels)")
        }
    }
}
