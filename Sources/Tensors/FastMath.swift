// Branch-free float approximations of exp and erf. libm's scalar calls cost tens of nanoseconds each and
// block vectorization; GELU and softmax evaluate them millions of times per batch.

/// e^x to within about 2 ulp (Cephes' expf: range reduction by ln 2, degree-6 polynomial, exponent bits).
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    let clamped = Swift.min(Swift.max(x, -87.33654), 88.37626)
    // Adding 1.5·2^23 rounds to the nearest integer and leaves it in the low mantissa bits, so neither the
    // rounding nor the exponent needs a library call or a trapping conversion, and the loop vectorizes.
    let shifted = clamped * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    var r = clamped - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * r * r + r + 1
    let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) << 23)
    return p * scale
}

/// erf(x) to within a few 1e-7 absolute (the rational approximation Eigen and XLA use for float).
@inline(__always)
public func fastErf(_ x: Float) -> Float {
    let c = Swift.min(Swift.max(x, -4), 4)
    let x2 = c * c
    var p: Float = -2.726_142_258_013_06e-10
    p = p * x2 + 2.770_681_424_959_02e-08
    p = p * x2 + -2.101_024_020_825_08e-06
    p = p * x2 + -5.692_506_394_623_46e-05
    p = p * x2 + -7.349_906_303_268_55e-04
    p = p * x2 + -2.954_599_808_540_25e-03
    p = p * x2 + -1.609_603_332_624_15e-02
    p = p * c
    var q: Float = -1.456_607_184_649_96e-05
    q = q * x2 + -2.133_740_552_789_05e-04
    q = q * x2 + -1.682_826_974_382_03e-03
    q = q * x2 + -7.373_329_167_204_68e-03
    q = q * x2 + -1.426_473_905_141_89e-02
    return p / q
}

/// tanh(x) from fastExp: 1 - 2/(e^{2x}+1), exact at the saturated ends.
@inline(__always)
public func fastTanh(_ x: Float) -> Float {
    let c = Swift.min(Swift.max(x, -15), 15)
    return 1 - 2 / (fastExp(2 * c) + 1)
}
