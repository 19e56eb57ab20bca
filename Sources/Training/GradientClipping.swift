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

/// The global L2 norm of `gradients`.
public func gradientNorm(_ gradients: UnsafeBufferPointer<Float>) -> Float {
    Float(sumOfSquares(gradients).squareRoot())
}

/// What `clipGradientNorm` multiplies the gradients by: maxNorm / (norm + 1e-6) when that is below 1, else 1
/// (also for no limit, maxNorm ≤ 0, and for a norm that is not finite). The trainer hands it to the
/// optimizer, which scales each gradient as it reads it instead of in a pass of its own.
public func clipCoefficient(norm: Float, maxNorm: Float) -> Float {
    guard maxNorm > 0, norm.isFinite else { return 1 }
    let coefficient = maxNorm / (norm + 1e-6)
    return coefficient < 1 ? coefficient : 1
}

/// Σ x², summed in SIMD Float lanes per block of 4,096 and across blocks in Double, so tens of millions of
/// terms keep their digits and the loop still vectorizes. Blocks are summed on all cores into one partial
/// each, and the partials added in block order, so the result is the same whatever the thread count.
func sumOfSquares(_ values: UnsafeBufferPointer<Float>) -> Double {
    guard let base = values.baseAddress, values.count > 0 else { return 0 }
    let block = 4096
    let blocks = (values.count + block - 1) / block
    var partials = [Double](repeating: 0, count: blocks)
    partials.withUnsafeMutableBufferPointer { partials in
        Parallel.forEachChunk(blocks, grain: 64) { r in
            for b in r {
                let start = b * block, end = min(start + block, values.count)
                var lanes = SIMD16<Float>()
                var i = start
                while i + 16 <= end {
                    let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self)
                    lanes += v * v
                    i += 16
                }
                var partial = Double(lanes.sum())
                while i < end { partial += Double(base[i]) * Double(base[i]); i += 1 }
                partials[b] = partial
            }
        }
    }
    var total = 0.0
    for partial in partials { total += partial }
    return total
}
