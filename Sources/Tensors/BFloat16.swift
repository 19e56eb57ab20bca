import CKernels

// bfloat16: the top 16 bits of an IEEE single. Products of two bfloat16 values are exact in single precision,
// so a BF16 matrix product differs from a single-precision one only by the rounding of its inputs.

/// The bfloat16 nearest to `x` (ties to even); NaN stays a quiet NaN, infinities stay infinite. Branch-free, so
/// loops over it vectorize.
@inline(__always)
public func bfloat16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
    let quietNaN = (bits >> 16) | 0x0040
    return UInt16(truncatingIfNeeded: bits & 0x7FFF_FFFF > 0x7F80_0000 ? quietNaN : rounded)
}

/// The single-precision value of a bfloat16.
@inline(__always)
public func floatFromBFloat16(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

/// out[i] = bfloat16(inp[i]), spread over the cores, in the widest vectors the processor has (CKernels).
public func convertToBFloat16(_ out: UnsafeMutablePointer<UInt16>, _ inp: UnsafePointer<Float>, count: Int) {
    Parallel.forEachChunk(count, grain: 1 << 16) { range in
        bt_convert_f32_to_bf16(out + range.lowerBound, inp + range.lowerBound, range.count)
    }
}

/// out[i] = inp[i] rounded to the nearest bfloat16, kept in single precision (what a BF16 product sees).
public func roundToBFloat16(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    Parallel.forEachChunk(count, grain: 1 << 16) { range in
        bt_round_f32_to_bf16(out + range.lowerBound, inp + range.lowerBound, range.count)
    }
}

/// Naive reference for `convertToBFloat16`: the nearest bfloat16 by comparing distances in Double.
public func bfloat16Reference(_ x: Float) -> UInt16 {
    if x.isNaN { return 0x7FC0 | UInt16(x.sign == .minus ? 0x8000 : 0) }
    let truncated = UInt16(x.bitPattern >> 16)
    let down = Double(floatFromBFloat16(truncated))
    if x.isInfinite || Double(x) == down { return truncated }
    // Above the largest finite bfloat16 the next value up is infinity, which rounding treats as ±2^128.
    let next = floatFromBFloat16(truncated &+ 1)
    let up = next.isInfinite ? (x < 0 ? -0x1p128 : 0x1p128) : Double(next)
    let toDown = abs(Double(x) - down), toUp = abs(up - Double(x))
    if toDown < toUp { return truncated }
    if toUp < toDown { return truncated &+ 1 }
    return truncated & 1 == 0 ? truncated : truncated &+ 1
}
