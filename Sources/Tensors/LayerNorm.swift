import CKernels

// Shape legend: T tokens, C channels.

/// out = (inp - mean) · rstd · weight + bias per row, caching mean and rstd = 1/sqrt(var + eps) for backward.
/// Row sums run in sixteen partial sums (CKernels): within a few ulp of a Double reference.
///
/// - out [T, C], mean [T], rstd [T]; inp [T, C]; weight [C], bias [C]
public func layerNormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                             _ rstd: UnsafeMutablePointer<Float>,
                             _ inp: UnsafePointer<Float>,
                             _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                             T: Int, C: Int, eps: Float) {
    Parallel.forEachChunk(T, grain: 32) { rows in
        let t = rows.lowerBound
        bt_layernorm_forward(out + t * C, mean + t, rstd + t, inp + t * C, weight, bias, rows.count, C, eps)
    }
}

/// The mirror of `layerNormForward`: dinp = (dnorm - mean(dnorm) - norm · mean(dnorm · norm)) · rstd,
/// with dnorm = dout · weight; dweight += Σ_t dout · norm, dbias += Σ_t dout.
///
/// - dinp [T, C] (overwritten; may not alias dout); dweight [C], dbias [C] (+=)
/// - dout [T, C]; inp [T, C]; weight [C]; mean [T], rstd [T]
public func layerNormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dweight: UnsafeMutablePointer<Float>,
                              _ dbias: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                              _ weight: UnsafePointer<Float>,
                              _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                              T: Int, C: Int) {
    residualLayerNormBackward(dinp, nil, dweight, dbias, dout, inp, weight, mean, rstd, T: T, C: C, dropout: nil)
}

/// residual = dropout(projection) + skip, then out = LayerNorm(residual), in one pass over each row (the residual
/// block's end: three passes fused into one). residual may alias projection. Row t's dropout counters are
/// (firstRow + t) · C + c, as `dropoutForward` over the whole [T, C] buffer numbers them (with counterBase
/// firstRow · C), so the mask is the unfused one's. `converted`, when given, gets `out` as a BF16 product takes
/// its input: the bits `BF16Matrix.convert(from: out)` would give.
///
/// - out [T, C], mean [T], rstd [T], residual [T, C]; projection [T, C], skip [T, C]; weight [C], bias [C];
///   converted [T, C] or nil
public func residualLayerNormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                                     _ rstd: UnsafeMutablePointer<Float>, _ residual: UnsafeMutablePointer<Float>,
                                     _ projection: UnsafePointer<Float>, _ skip: UnsafePointer<Float>,
                                     _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                                     T: Int, C: Int, eps: Float, dropout: DropoutMask?, converted: BF16Matrix? = nil) {
    var mask = dropout?.kernel ?? bt_dropout()
    let firstRow = dropout?.firstRow ?? 0
    BF16Matrix.written(converted, count: T * C, from: out) { halves in
        withUnsafePointer(to: &mask) { maskPointer in
            let kernelMask = dropout == nil ? nil : maskPointer
            Parallel.forEachChunk(T, grain: 32) { rows in
                let t = rows.lowerBound
                bt_residual_layernorm_forward(out + t * C, mean + t, rstd + t, residual + t * C, projection + t * C,
                                              skip + t * C, weight, bias, rows.count, C, eps, kernelMask,
                                              UInt32(truncatingIfNeeded: (firstRow + t) * C), halves.map { $0 + t * C })
            }
        }
    }
}

/// The mirror of `residualLayerNormForward`: dresidual = d LayerNorm / d residual (which is also the skip
/// path's gradient), dprojection = dropout's backward of it with the forward's mask (when not nil; with no
/// dropout the projection's gradient is dresidual itself); dweight += Σ_t dout · norm, dbias += Σ_t dout.
///
/// - dresidual [T, C] (overwritten; may not alias dout), dprojection [T, C] or nil (overwritten);
///   dweight [C], dbias [C] (+=)
/// - dout [T, C]; residual [T, C]; weight [C]; mean [T], rstd [T]
public func residualLayerNormBackward(_ dresidual: UnsafeMutablePointer<Float>,
                                      _ dprojection: UnsafeMutablePointer<Float>?,
                                      _ dweight: UnsafeMutablePointer<Float>, _ dbias: UnsafeMutablePointer<Float>,
                                      _ dout: UnsafePointer<Float>, _ residual: UnsafePointer<Float>,
                                      _ weight: UnsafePointer<Float>,
                                      _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                                      T: Int, C: Int, dropout: DropoutMask?) {
    precondition(dropout == nil || dprojection != nil, "dropout's backward needs a dprojection buffer")
    var mask = dropout?.kernel ?? bt_dropout()
    let firstRow = dropout?.firstRow ?? 0
    withUnsafePointer(to: &mask) { maskPointer in
        let kernelMask = dropout == nil ? nil : maskPointer
        let projectionGradient = dropout == nil ? nil : dprojection
        Parallel.forEachChunk(T, grain: 32) { rows in
            let t = rows.lowerBound
            bt_layernorm_backward(dresidual + t * C, projectionGradient.map { $0 + t * C }, dout + t * C,
                                  residual + t * C, weight, mean + t, rstd + t, rows.count, C, kernelMask,
                                  UInt32(truncatingIfNeeded: (firstRow + t) * C))
        }
    }
    // The parameter sums reduce over tokens, so they are split by channel: no races, fixed order.
    Parallel.forEachChunk(C, grain: T >= 256 ? 16 : C) { cols in
        bt_layernorm_parameters_backward(dweight, dbias, dout, residual, mean, rstd, T, C,
                                         cols.lowerBound, cols.upperBound)
    }
}

/// Naive reference for `layerNormForward`, accumulating in Double.
public func layerNormForwardReference(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                                      _ rstd: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                      _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                                      T: Int, C: Int, eps: Float) {
    for t in 0 ..< T {
        var m = 0.0
        for c in 0 ..< C { m += Double(inp[t * C + c]) }
        m /= Double(C)
        var v = 0.0
        for c in 0 ..< C { v += (Double(inp[t * C + c]) - m) * (Double(inp[t * C + c]) - m) }
        v /= Double(C)
        let s = 1 / (v + Double(eps)).squareRoot()
        for c in 0 ..< C {
            out[t * C + c] = Float((Double(inp[t * C + c]) - m) * s * Double(weight[c]) + Double(bias[c]))
        }
        mean[t] = Float(m)
        rstd[t] = Float(s)
    }
}
