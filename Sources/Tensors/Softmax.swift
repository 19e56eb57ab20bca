import CKernels

// Shape legend: R rows, N columns. Row kernels: attention calls them per (sequence, head) inside its own
// parallel loop, where each sequence's rows cover only its own tokens, which is the packed mask.

/// probs = softmax(scores) per row; probs may alias scores. The row's sum runs in sixteen partial sums
/// (CKernels), so it differs from a sum in column order by rounding only.
/// - probs [R, N]; scores [R, N]
public func softmaxForward(_ probs: UnsafeMutablePointer<Float>, _ scores: UnsafePointer<Float>, R: Int, N: Int) {
    bt_softmax_forward(probs, scores, R, N)
}

/// The mirror of `softmaxForward`: dscores = probs · (dprobs - Σ_j dprobs · probs) per row;
/// dscores may alias dprobs.
/// - dscores [R, N] (overwritten); dprobs [R, N]; probs [R, N]
public func softmaxBackward(_ dscores: UnsafeMutablePointer<Float>, _ dprobs: UnsafePointer<Float>,
                            _ probs: UnsafePointer<Float>, R: Int, N: Int) {
    bt_softmax_backward(dscores, dprobs, probs, R, N)
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

/// Naive reference for `softmaxBackward`, in Double.
public func softmaxBackwardReference(_ dscores: UnsafeMutablePointer<Float>, _ dprobs: UnsafePointer<Float>,
                                     _ probs: UnsafePointer<Float>, R: Int, N: Int) {
    for r in 0 ..< R {
        var dot = 0.0
        for j in 0 ..< N { dot += Double(dprobs[r * N + j]) * Double(probs[r * N + j]) }
        for j in 0 ..< N { dscores[r * N + j] = Float(Double(probs[r * N + j]) * (Double(dprobs[r * N + j]) - dot)) }
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
