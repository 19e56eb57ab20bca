// Shape legend: R rows, N columns. Row kernels: attention calls them per (sequence, head) inside its own
// parallel loop, where each sequence's rows cover only its own tokens, which is the packed mask.

/// probs = softmax(scores) per row; probs may alias scores.
/// - probs [R, N]; scores [R, N]
public func softmaxForward(_ probs: UnsafeMutablePointer<Float>, _ scores: UnsafePointer<Float>, R: Int, N: Int) {
    for r in 0 ..< R {
        let s = scores + r * N, p = probs + r * N
        var maxValue = -Float.infinity
        for j in 0 ..< N { maxValue = Swift.max(maxValue, s[j]) }
        // The exponentials eight at a time; the sum stays one running total in column order, so the result
        // is the scalar loop's to the bit.
        var j = 0
        let shift = SIMD8<Float>(repeating: maxValue)
        while j + 8 <= N {
            let e = fastExp(UnsafeRawPointer(s + j).loadUnaligned(as: SIMD8<Float>.self) - shift)
            UnsafeMutableRawPointer(p + j).storeBytes(of: e, as: SIMD8<Float>.self)
            j += 8
        }
        while j < N { p[j] = fastExp(s[j] - maxValue); j += 1 }
        var sum: Float = 0
        for j in 0 ..< N { sum += p[j] }
        let inv = 1 / sum
        for j in 0 ..< N { p[j] *= inv }
    }
}

/// The mirror of `softmaxForward`: dscores = probs · (dprobs - Σ_j dprobs · probs) per row;
/// dscores may alias dprobs.
/// - dscores [R, N] (overwritten); dprobs [R, N]; probs [R, N]
public func softmaxBackward(_ dscores: UnsafeMutablePointer<Float>, _ dprobs: UnsafePointer<Float>,
                            _ probs: UnsafePointer<Float>, R: Int, N: Int) {
    for r in 0 ..< R {
        let dp = dprobs + r * N, p = probs + r * N, ds = dscores + r * N
        var dot: Float = 0
        for j in 0 ..< N { dot += dp[j] * p[j] }
        for j in 0 ..< N { ds[j] = p[j] * (dp[j] - dot) }
    }
}

/// Naive reference for `softmaxForward`, in Double with libm's exp.
public func softmaxForwardReference(_ probs: UnsafeMutablePointer<Float>, _ scores: UnsafePointer<Float>,
                                    R: Int, N: Int) {
    for r in 0 ..< R {
        var maxValue = -Double.infinity
        for j in 0 ..< N { maxValue = Swift.max(maxValue, Double(scores[r * N + j])) }
        var sum = 0.0
        for j in 0 ..< N { sum += referenceExp(Double(scores[r * N + j]) - maxValue) }
        for j in 0 ..< N { probs[r * N + j] = Float(referenceExp(Double(scores[r * N + j]) - maxValue) / sum) }
    }
}

#if canImport(Darwin)
import Darwin
@inline(__always) func referenceExp(_ x: Double) -> Double { Darwin.exp(x) }
@inline(__always) func referenceLog(_ x: Double) -> Double { Darwin.log(x) }
#else
import Glibc
@inline(__always) func referenceExp(_ x: Double) -> Double { Glibc.exp(x) }
@inline(__always) func referenceLog(_ x: Double) -> Double { Glibc.log(x) }
#endif
