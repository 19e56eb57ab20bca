import CKernels

// Inverted dropout with a counter-based mask: element i is kept when the 24 high bits of
// random.bits(counterBase + i) are at least p · 2^24, and kept values are scaled by 1/(1-p). The mask is a
// pure function of (key, counter), so backward regenerates it instead of storing it.

/// Dropout with probability p under `random`'s key, as the C kernels take it. p must be in [0, 1).
public struct DropoutMask: Sendable {
    public var probability: Float
    public var random: CounterRandom
    /// The batch position of the buffer's first row: a rank's share of a data-parallel batch starts past the
    /// rows of the ranks before it, so row t draws the counters row firstRow + t of the whole batch would.
    public var firstRow: Int

    public init(probability: Float, random: CounterRandom, firstRow: Int = 0) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) must be in [0, 1)")
        precondition(firstRow >= 0, "the first row's position is not negative")
        self.probability = probability
        self.random = random
        self.firstRow = firstRow
    }

    var kernel: bt_dropout {
        bt_dropout(key0: random.key0, key1: random.key1,
                   threshold: UInt32(Swift.min(Swift.max(probability, 0), 1) * 16_777_216),
                   scale: 1 / (1 - probability))
    }
}

/// out[i] = keep(i) ? inp[i] / (1 - p) : 0; out may alias inp. p must be < 1.
/// - out [N]; inp [N]
public func dropoutForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int,
                           probability p: Float, random: CounterRandom, counterBase: UInt32 = 0) {
    let mask = DropoutMask(probability: p, random: random).kernel
    Parallel.forEachChunk(count, grain: 1 << 15) { r in
        bt_dropout_forward(out + r.lowerBound, inp + r.lowerBound, r.count, mask,
                           counterBase &+ UInt32(truncatingIfNeeded: r.lowerBound))
    }
}

/// The mirror of `dropoutForward` with the same key and counters: dinp[i] = keep(i) ? dout[i] / (1 - p) : 0.
/// - dinp [N] (overwritten; may alias dout); dout [N]
public func dropoutBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, count: Int,
                            probability p: Float, random: CounterRandom, counterBase: UInt32 = 0) {
    dropoutForward(dinp, dout, count: count, probability: p, random: random, counterBase: counterBase)
}

/// Serial form for callers already inside a parallel loop (attention rows).
@inline(__always)
public func dropoutRowForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int,
                              probability p: Float, random: CounterRandom, counterBase: UInt32) {
    bt_dropout_forward(out, inp, count, DropoutMask(probability: p, random: random).kernel, counterBase)
}

/// Naive reference for `dropoutForward`: the same mask rule, written out element by element.
public func dropoutForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int,
                                    probability p: Float, random: CounterRandom, counterBase: UInt32 = 0) {
    for i in 0 ..< count {
        let draw = Double(random.bits(counterBase &+ UInt32(truncatingIfNeeded: i)) >> 8)   // uniform in 0 ..< 2^24
        let kept = draw >= (Double(p) * 16_777_216).rounded(.down)
        out[i] = kept ? Float(Double(inp[i]) / (1 - Double(p))) : 0
    }
}
