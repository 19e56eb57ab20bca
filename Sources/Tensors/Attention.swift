import CKernels

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

/// Per-worker work areas for attention (the n × n blocks of one sequence and head, and a head's keys or values
/// transposed), sized once for the longest sequence and the head size.
public final class AttentionScratch: @unchecked Sendable {
    public let workers: Int
    public let maxSequenceLength: Int
    public let headSize: Int
    private let floatsPerWorker: Int
    private let slab: FloatSlab

    public init(maxSequenceLength: Int, headSize: Int, workers: Int) {
        precondition(maxSequenceLength >= 0 && headSize > 0, "attention scratch for sequences of \(maxSequenceLength) "
                     + "tokens and heads of \(headSize)")
        self.workers = Swift.max(1, workers)
        self.maxSequenceLength = maxSequenceLength
        self.headSize = headSize
        floatsPerWorker = bt_attention_scratch_floats(maxSequenceLength, headSize)
        slab = FloatSlab(count: self.workers * floatsPerWorker)
    }

    /// `worker`'s area.
    @inline(__always)
    func area(_ worker: Int) -> UnsafeMutablePointer<Float> { slab.pointer + worker * floatsPerWorker }
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

/// out = dropout(softmax(q kᵀ / √hs)) v per sequence and head, each (sequence, head) one call of the C kernel
/// (scores, softmax, dropout and the product with v together). `converted`, when given, gets `out` as a BF16
/// product takes its input: the bits `BF16Matrix.convert(from: out)` would give.
/// - out [T, C]; q, k, v [T, C]; offsets [B + 1]; converted [T, C] or nil
public func attentionForward(_ out: UnsafeMutablePointer<Float>,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ offsets: UnsafePointer<Int32>, B: Int, NH: Int, C: Int,
                             dropout: AttentionDropout?, scratch: AttentionScratch, converted: BF16Matrix? = nil) {
    let hs = C / NH, scale = 1 / Float(hs).squareRoot()
    let masks = headMasks(dropout, NH: NH)
    checkScratch(scratch, offsets, B: B, hs: hs)
    BF16Matrix.written(converted, count: Int(offsets[B]) * C, from: out) { halves in
        forEachSequenceHead(B: B, NH: NH, scratch: scratch) { worker, b, h in
            let start = Int(offsets[b]), n = Int(offsets[b + 1]) - start
            if n == 0 { return }
            let at = start * C + h * hs
            withMask(masks, h: h) { mask in
                bt_attention_forward(out + at, C, q + at, k + at, v + at, n, hs, C, scale, mask,
                                     counterBase(dropout, start: start, scratch: scratch),
                                     UInt32(truncatingIfNeeded: scratch.maxSequenceLength), scratch.area(worker),
                                     halves.map { $0 + at })
            }
        }
    }
}

/// Inference's attention on q, k and v side by side in one [T, 3C] matrix (a token's q, then its k, then its v: the
/// fused projection's output), for sequences `sequences` only, into their rows of out [T, C]: the bits of
/// `attentionForward` without dropout on the same values. With `worker` given, serially on that worker's scratch
/// area (for a caller already running on workers of its own); with nil, the (sequence, head) items go to every
/// thread as in `attentionForward`.
/// - out [T, C]; qkv [T, 3C]; offsets [B + 1], sequences within 0 ..< B
public func attentionForward(_ out: UnsafeMutablePointer<Float>, queryKeyValue qkv: UnsafePointer<Float>,
                             _ offsets: UnsafePointer<Int32>, sequences: Range<Int>, NH: Int, C: Int,
                             scratch: AttentionScratch, worker: Int?) {
    let hs = C / NH, scale = 1 / Float(hs).squareRoot(), first = sequences.lowerBound
    checkScratch(scratch, offsets + first, B: sequences.count, hs: hs)
    func head(_ area: UnsafeMutablePointer<Float>, _ b: Int, _ h: Int) {
        let start = Int(offsets[b]), n = Int(offsets[b + 1]) - start
        if n == 0 { return }
        let row = start * 3 * C + h * hs
        bt_attention_forward(out + start * C + h * hs, C, qkv + row, qkv + row + C, qkv + row + 2 * C, n, hs, 3 * C,
                             scale, nil, 0, 0, area, nil)
    }
    guard let worker else {
        forEachSequenceHead(B: sequences.count, NH: NH, scratch: scratch) { area, b, h in
            head(scratch.area(area), first + b, h)
        }
        return
    }
    precondition(worker < scratch.workers, "attention scratch for \(scratch.workers) workers used by worker \(worker)")
    for b in sequences { for h in 0 ..< NH { head(scratch.area(worker), b, h) } }
}

/// The mirror of `attentionForward`, with the same dropout key: recomputes each head's probabilities from q and
/// k and regenerates the mask.
/// - dq, dk, dv [T, C] (overwritten); dout [T, C]; q, k, v [T, C]; offsets [B + 1]
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>,
                              _ dv: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>,
                              _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                              _ offsets: UnsafePointer<Int32>, B: Int, NH: Int, C: Int,
                              dropout: AttentionDropout?, scratch: AttentionScratch) {
    let hs = C / NH, scale = 1 / Float(hs).squareRoot()
    let masks = headMasks(dropout, NH: NH)
    checkScratch(scratch, offsets, B: B, hs: hs)
    forEachSequenceHead(B: B, NH: NH, scratch: scratch) { worker, b, h in
        let start = Int(offsets[b]), n = Int(offsets[b + 1]) - start
        if n == 0 { return }
        let at = start * C + h * hs
        withMask(masks, h: h) { mask in
            bt_attention_backward(dq + at, dk + at, dv + at, dout + at, q + at, k + at, v + at, n, hs, C, scale, mask,
                                  counterBase(dropout, start: start, scratch: scratch),
                                  UInt32(truncatingIfNeeded: scratch.maxSequenceLength), scratch.area(worker))
        }
    }
}

/// Head h's dropout mask: the key derived from the layer's by h. Row i of a sequence starting at token `start` is
/// token start + i, and its counters are (firstToken + start + i) · maxSequenceLength + j, unique per (token,
/// column) under the head's key.
private func headMasks(_ dropout: AttentionDropout?, NH: Int) -> [bt_dropout] {
    guard let dropout, dropout.probability > 0 else { return [] }
    return (0 ..< NH).map { DropoutMask(probability: dropout.probability, random: dropout.random.derived(UInt64($0))).kernel }
}

@inline(__always)
private func counterBase(_ dropout: AttentionDropout?, start: Int, scratch: AttentionScratch) -> UInt32 {
    UInt32(truncatingIfNeeded: ((dropout?.firstToken ?? 0) + start) * scratch.maxSequenceLength)
}

@inline(__always)
private func withMask(_ masks: [bt_dropout], h: Int, _ body: (UnsafePointer<bt_dropout>?) -> Void) {
    if masks.isEmpty { body(nil); return }
    masks.withUnsafeBufferPointer { body($0.baseAddress! + h) }
}

private func checkScratch(_ scratch: AttentionScratch, _ offsets: UnsafePointer<Int32>, B: Int, hs: Int) {
    precondition(hs <= scratch.headSize, "heads of \(hs) channels, attention scratch planned for \(scratch.headSize)")
    for b in 0 ..< B {
        let n = Int(offsets[b + 1]) - Int(offsets[b])
        precondition(n <= scratch.maxSequenceLength,
                     "a sequence of \(n) tokens, attention scratch planned for \(scratch.maxSequenceLength)")
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
        // Serially: a lane's own area (Parallel.forEachLane), the first outside lanes.
        let area = Parallel.lane
        precondition(area < scratch.workers, "attention scratch for \(scratch.workers) workers used by lane \(area)")
        for item in 0 ..< items { body(area, item / NH, item % NH) }
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
