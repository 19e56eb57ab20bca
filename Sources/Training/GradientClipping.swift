/// Scales `gradients` so their global L2 norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`
/// (coefficient maxNorm / (norm + 1e-6), applied only when below 1). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: UnsafeMutableBufferPointer<Float>, maxNorm: Float) -> Float {
    let norm = Float(sumOfSquares(UnsafeBufferPointer(gradients)).squareRoot())
    guard maxNorm > 0, norm.isFinite else { return norm }
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for i in gradients.indices { gradients[i] *= coefficient }
    }
    return norm
}

/// Σ x², summed in SIMD Float lanes per block of 4,096 and across blocks in Double, so tens of millions of
/// terms keep their digits and the loop still vectorizes.
func sumOfSquares(_ values: UnsafeBufferPointer<Float>) -> Double {
    guard let base = values.baseAddress else { return 0 }
    var total = 0.0
    var start = 0
    let block = 4096
    while start < values.count {
        let end = min(start + block, values.count)
        var lanes = SIMD16<Float>()
        var i = start
        while i + 16 <= end {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes += v * v
            i += 16
        }
        var partial = Double(lanes.sum())
        while i < end { partial += Double(base[i]) * Double(base[i]); i += 1 }
        total += partial
        start = end
    }
    return total
}
