import Tensors

/// Scales `gradients` so their global L2 norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`
/// (coefficient maxNorm / (norm + 1e-6), applied only when below 1). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: UnsafeMutableBufferPointer<Float>, maxNorm: Float) -> Float {
    let norm = gradientNorm(UnsafeBufferPointer(gradients))
    let coefficient = clipCoefficient(norm: norm, maxNorm: maxNorm)
    if coefficient != 1 {
        for i in gradients.indices { gradients[i] *= coefficient }
    }
    return norm
}

/// The global L2 norm of `gradients`; with `sparse`, the rows it does not mark are taken as the zeros they are,
/// unread (the same bits).
public func gradientNorm(_ gradients: UnsafeBufferPointer<Float>, sparse: SparseGradientRows? = nil) -> Float {
    guard let base = gradients.baseAddress, gradients.count > 0 else { return 0 }
    return Float(sumOfSquares(base, count: gradients.count, sparse: sparse).squareRoot())
}

/// What `clipGradientNorm` multiplies the gradients by: maxNorm / (norm + 1e-6) when that is below 1, else 1
/// (also for no limit, maxNorm ≤ 0, and for a norm that is not finite). The trainer hands it to the
/// optimizer, which scales each gradient as it reads it instead of in a pass of its own.
public func clipCoefficient(norm: Float, maxNorm: Float) -> Float {
    guard maxNorm > 0, norm.isFinite else { return 1 }
    let coefficient = maxNorm / (norm + 1e-6)
    return coefficient < 1 ? coefficient : 1
}
