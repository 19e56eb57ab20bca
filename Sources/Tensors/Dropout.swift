// Inverted dropout with a counter-based mask: element i is kept when the 24 high bits of
// random.bits(counterBase + i) are at least p · 2^24, and kept values are scaled by 1/(1-p). The mask is a
// pure function of (key, counter), so backward regenerates it instead of storing it.

@inline(__always)
private func dropThreshold(_ p: Float) -> UInt32 { UInt32(Swift.min(Swift.max(p, 0), 1) * 16_777_216) }

/// out[i] = keep(i) ? inp[i] / (1 - p) : 0; out may alias inp. p must be < 1.
/// - out [N]; inp [N]
public func dropoutForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int,
                           probability p: Float, random: CounterRandom, counterBase: UInt32 = 0) {
    precondition(p >= 0 && p < 1, "dropout probability \(p) must be in [0, 1)")
    let threshold = dropThreshold(p), scale = 1 / (1 - p)
    Parallel.forEachChunk(count, grain: 1 << 15) { r in
        dropoutRange(out, inp, r, threshold: threshold, scale: scale, random: random, counterBase: counterBase)
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
    dropoutRange(out, inp, 0 ..< count, threshold: dropThreshold(p), scale: 1 / (1 - p),
                 random: random, counterBase: counterBase)
}

@inline(__always)
private func dropoutRange(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ r: Range<Int>,
                          threshold: UInt32, scale: Float, random: CounterRandom, counterBase: UInt32) {
    // Eight counters at a time (the scalar loop did not vectorize); the tail draws the same numbers one by one.
    var i = r.lowerBound
    let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7), limit = SIMD8<UInt32>(repeating: threshold)
    while i + 8 <= r.upperBound {
        let draws = random.bits(lanes &+ (counterBase &+ UInt32(truncatingIfNeeded: i))) &>> 8
        let kept = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD8<Float>.self) * scale
        let value = kept.replacing(with: 0, where: draws .< limit)
        UnsafeMutableRawPointer(out + i).storeBytes(of: value, as: SIMD8<Float>.self)
        i += 8
    }
    while i < r.upperBound {
        let keep = random.bits(counterBase &+ UInt32(truncatingIfNeeded: i)) >> 8 >= threshold
        out[i] = keep ? inp[i] * scale : 0
        i += 1
    }
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
