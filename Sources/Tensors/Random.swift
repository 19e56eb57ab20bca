/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64) for initialisation and keys.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser: a bijection that scatters every input bit over the output.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A standard normal sample (Box–Muller), computed in Double.
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53   // (0, 1]: log stays finite
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
}

/// A keyed, counter-based stream of 32-bit random numbers: element `i` under `key` is a pure function of
/// the two, so a dropout mask is regenerated in backward instead of stored, costs the same on any thread,
/// and does not depend on how the work is split.
public struct CounterRandom: Sendable {
    public let key0: UInt32
    public let key1: UInt32

    public init(key: UInt64) {
        let mixed = SplitMix64.mix(key)
        key0 = UInt32(truncatingIfNeeded: mixed)
        key1 = UInt32(truncatingIfNeeded: mixed >> 32)
    }

    /// Derives an independent stream, e.g. one per layer and site.
    public func derived(_ salt: UInt64) -> CounterRandom {
        CounterRandom(key: (UInt64(key1) << 32 | UInt64(key0)) ^ SplitMix64.mix(salt &+ 0x632B_E59B_D9B4_E019))
    }

    /// Two rounds of MurmurHash3's 32-bit finaliser, keyed; 32-bit multiplies keep loops vectorizable.
    @inline(__always)
    public func bits(_ counter: UInt32) -> UInt32 {
        var h = (counter &+ key0) &* 0x9E37_79B1
        h ^= h >> 16; h &*= 0x85EB_CA6B; h ^= h >> 13; h &*= 0xC2B2_AE35; h ^= h >> 16
        h ^= key1
        h ^= h >> 16; h &*= 0x85EB_CA6B; h ^= h >> 13; h &*= 0xC2B2_AE35; h ^= h >> 16
        return h
    }

    /// `bits` for eight consecutive-or-not counters at once, lane for lane the same numbers.
    @inline(__always)
    public func bits(_ counters: SIMD8<UInt32>) -> SIMD8<UInt32> {
        var h = (counters &+ key0) &* 0x9E37_79B1
        h ^= h &>> 16; h &*= 0x85EB_CA6B; h ^= h &>> 13; h &*= 0xC2B2_AE35; h ^= h &>> 16
        h ^= key1
        h ^= h &>> 16; h &*= 0x85EB_CA6B; h ^= h &>> 13; h &*= 0xC2B2_AE35; h ^= h &>> 16
        return h
    }
}

#if canImport(Darwin)
import Darwin
@inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#else
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#endif
