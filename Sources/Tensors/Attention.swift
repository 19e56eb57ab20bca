// Self-attention over packed variable-length sequences.
//
// Shape legend: T tokens (all sequences end to end), B sequences, C channels, NH heads, hs = C / NH,
// n the length of one sequence. Sequence b is tokens offsets[b] ..< offsets[b+1]; head h is columns
// h·hs ..< (h+1)·hs of q, k, v. Each (sequence, head) is one work item whose scores are n × n, so a batch
// costs what its real tokens cost and no token sees another sequence: the packing is the mask.
//
// Nothing of size n × n is kept between forward and backward: backward recomputes the scores from q and k
// (a fraction of the layer's FLOPs) and regenerates the dropout mask from its key, so the memory planned
// for attention is a per-worker scratch, not the sum of every sequence's squared length.

/// Per-worker n × n work areas for attention, sized once for the longest sequence.
public final class AttentionScratch: @unchecked Sendable {
    public let workers: Int
    public let maxSequenceLength: Int
    private let slab: FloatSlab

    public init(maxSequenceLength: Int, workers: Int) {
        self.workers = Swift.max(1, workers)
        self.maxSequenceLength = maxSequenceLength
        slab = FloatSlab(count: self.workers * 3 * maxSequenceLength * maxSequenceLength)
    }

    /// Block `index` (0, 1 or 2) of `worker`'s area: [maxSequenceLength²].
    @inline(__always)
    func block(_ worker: Int, _ index: Int) -> UnsafeMutablePointer<Float> {
        slab.pointer + (worker * 3 + index) * maxSequenceLength * maxSequenceLength
    }
}

/// Attention dropout: probability and the key its mask is drawn from (nil or p = 0 for none).
public struct AttentionDropout: Sendable {
    public var probability: Float
    public var random: CounterRandom
    /// The batch position of the first token, as `DropoutMask.firstRow`.
    public var firstToken: Int

    public init(probability: Float, random: CounterRandom, firstToken: Int = 0) {
        precondition(firstToken >= 0, "the first token's position is not negative")
        self.probability = probability
        self.random = random
        self.firstToken = firstToken
    }
}

/// out = dropout(softmax(q kᵀ / √hs)) v per sequence and head.
/// - out [T, C]; q, k, v [T, C]; offsets [B + 1]
public func attentionForward(_ out: UnsafeMutablePointer<Float>,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ offsets: UnsafePointer<Int32>, B: Int, NH: Int, C: Int,
                             dropout: AttentionDropout?, scratch: AttentionScratch) {
    let hs = C / NH, scale = 1 / Float(hs).squareRoot()
    forEachSequenceHead(B: B, NH: NH, scratch: scratch) { worker, b, h in
        let start = Int(offsets[b]), n = Int(offsets[b + 1]) - start
        if n == 0 { return }
        let qb = q + start * C + h * hs, kb = k + start * C + h * hs, vb = v + start * C + h * hs
        let probs = scratch.block(worker, 0)                                       // [n, n]
        BLAS.sgemm(.none, .transposed, m: n, n: n, k: hs, alpha: scale, a: qb, lda: C, b: kb, ldb: C,
                   beta: 0, c: probs, ldc: n, callingThreadOnly: true)
        softmaxForward(probs, probs, R: n, N: n)
        if let dropout, dropout.probability > 0 {
            dropProbabilities(probs, probs, start: start, n: n, h: h, dropout: dropout, scratch: scratch)
        }
        BLAS.sgemm(.none, .none, m: n, n: hs, k: n, a: probs, lda: n, b: vb, ldb: C,
                   beta: 0, c: out + start * C + h * hs, ldc: C, callingThreadOnly: true)
    }
}

/// The mirror of `attentionForward`, with the same dropout key.
/// - dq, dk, dv [T, C] (overwritten); dout [T, C]; q, k, v [T, C]; offsets [B + 1]
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>,
                              _ dv: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>,
                              _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                              _ offsets: UnsafePointer<Int32>, B: Int, NH: Int, C: Int,
                              dropout: AttentionDropout?, scratch: AttentionScratch) {
    let hs = C / NH, scale = 1 / Float(hs).squareRoot()
    forEachSequenceHead(B: B, NH: NH, scratch: scratch) { worker, b, h in
        let start = Int(offsets[b]), n = Int(offsets[b + 1]) - start
        if n == 0 { return }
        let at = start * C + h * hs
        let qb = q + at, kb = k + at, vb = v + at, db = dout + at
        // Recompute the forward's probabilities.
        let probs = scratch.block(worker, 0)                                       // [n, n]
        BLAS.sgemm(.none, .transposed, m: n, n: n, k: hs, alpha: scale, a: qb, lda: C, b: kb, ldb: C,
                   beta: 0, c: probs, ldc: n, callingThreadOnly: true)
        softmaxForward(probs, probs, R: n, N: n)
        let dropping = dropout.map { $0.probability > 0 } ?? false
        var kept = UnsafePointer(probs)                                             // [n, n] after dropout
        if dropping, let dropout {
            let dropped = scratch.block(worker, 1)
            dropProbabilities(dropped, probs, start: start, n: n, h: h, dropout: dropout, scratch: scratch)
            kept = UnsafePointer(dropped)
        }
        // out = kept · v
        BLAS.sgemm(.transposed, .none, m: n, n: hs, k: n, a: kept, lda: n, b: db, ldb: C,
                   beta: 0, c: dv + at, ldc: C, callingThreadOnly: true)
        let dprobs = scratch.block(worker, 2)                                      // [n, n]
        BLAS.sgemm(.none, .transposed, m: n, n: n, k: hs, a: db, lda: C, b: vb, ldb: C,
                   beta: 0, c: dprobs, ldc: n, callingThreadOnly: true)
        if dropping, let dropout {
            dropProbabilities(dprobs, dprobs, start: start, n: n, h: h, dropout: dropout, scratch: scratch)
        }
        softmaxBackward(dprobs, dprobs, probs, R: n, N: n)
        // scores = scale · q kᵀ
        BLAS.sgemm(.none, .none, m: n, n: hs, k: n, alpha: scale, a: dprobs, lda: n, b: kb, ldb: C,
                   beta: 0, c: dq + at, ldc: C, callingThreadOnly: true)
        BLAS.sgemm(.transposed, .none, m: n, n: hs, k: n, alpha: scale, a: dprobs, lda: n, b: qb, ldb: C,
                   beta: 0, c: dk + at, ldc: C, callingThreadOnly: true)
    }
}

/// The dropout mask of head h's probabilities: row i of the sequence is token start + i, and its
/// counters are (firstToken + start + i) · maxSequenceLength + j, unique per (token, column) under the
/// head's key.
@inline(__always)
private func dropProbabilities(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                               start: Int, n: Int, h: Int, dropout: AttentionDropout, scratch: AttentionScratch) {
    let random = dropout.random.derived(UInt64(h))
    for i in 0 ..< n {
        dropoutRowForward(out + i * n, inp + i * n, count: n, probability: dropout.probability, random: random,
                          counterBase: UInt32(truncatingIfNeeded: (dropout.firstToken + start + i) * scratch.maxSequenceLength))
    }
}

/// Hands (sequence, head) items to the workers round-robin, so one long sequence's heads spread over all
/// of them.
@inline(__always)
private func forEachSequenceHead(B: Int, NH: Int, scratch: AttentionScratch,
                                 _ body: (_ worker: Int, _ b: Int, _ h: Int) -> Void) {
    let items = B * NH
    let workers = Swift.min(Parallel.threadCount, scratch.workers, items)
    if workers <= 1 {
        for item in 0 ..< items { body(0, item / NH, item % NH) }
        return
    }
    Parallel.forEachWorker(workers) { w in
        var item = w
        while item < items {
            body(w, item / NH, item % NH)
            item += workers
        }
    }
}

/// Naive reference for `attentionForward` without dropout: loops in Double, sequence by sequence.
public func attentionForwardReference(_ out: UnsafeMutablePointer<Float>,
                                      _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
                                      _ v: UnsafePointer<Float>,
                                      _ offsets: UnsafePointer<Int32>, B: Int, NH: Int, C: Int) {
    let hs = C / NH, scale = 1 / Double(hs).squareRoot()
    for b in 0 ..< B {
        let start = Int(offsets[b]), end = Int(offsets[b + 1])
        for h in 0 ..< NH {
            for i in start ..< end {
                var scores = [Double](repeating: 0, count: end - start)
                for j in start ..< end {
                    var dot = 0.0
                    for d in 0 ..< hs { dot += Double(q[i * C + h * hs + d]) * Double(k[j * C + h * hs + d]) }
                    scores[j - start] = dot * scale
                }
                let maxValue = scores.max() ?? 0
                let exps = scores.map { referenceExp($0 - maxValue) }
                let sum = exps.reduce(0, +)
                for d in 0 ..< hs {
                    var acc = 0.0
                    for j in start ..< end { acc += exps[j - start] / sum * Double(v[j * C + h * hs + d]) }
                    out[i * C + h * hs + d] = Float(acc)
                }
            }
        }
    }
}
