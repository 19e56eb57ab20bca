// Shape legend: T tokens, C channels.

/// out = (inp - mean) · rstd · weight + bias per row, caching mean and rstd = 1/sqrt(var + eps) for backward.
///
/// - out [T, C], mean [T], rstd [T]; inp [T, C]; weight [C], bias [C]
public func layerNormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                             _ rstd: UnsafeMutablePointer<Float>,
                             _ inp: UnsafePointer<Float>,
                             _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                             T: Int, C: Int, eps: Float) {
    Parallel.forEachChunk(T, grain: 32) { rows in
        for t in rows {
            let x = inp + t * C
            var sum: Float = 0
            for c in 0 ..< C { sum += x[c] }
            let m = sum / Float(C)
            var sq: Float = 0
            for c in 0 ..< C { let d = x[c] - m; sq += d * d }
            let s = 1 / (sq / Float(C) + eps).squareRoot()
            let o = out + t * C
            for c in 0 ..< C { o[c] = (x[c] - m) * s * weight[c] + bias[c] }
            mean[t] = m
            rstd[t] = s
        }
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
    Parallel.forEachChunk(T, grain: 32) { rows in
        for t in rows {
            let x = inp + t * C, d = dout + t * C, dx = dinp + t * C
            let m = mean[t], s = rstd[t]
            var dnormMean: Float = 0, dnormNormMean: Float = 0
            for c in 0 ..< C {
                let dnorm = weight[c] * d[c]
                dnormMean += dnorm
                dnormNormMean += dnorm * (x[c] - m) * s
            }
            dnormMean /= Float(C)
            dnormNormMean /= Float(C)
            for c in 0 ..< C {
                let norm = (x[c] - m) * s
                dx[c] = (weight[c] * d[c] - dnormMean - norm * dnormNormMean) * s
            }
        }
    }
    // The parameter sums reduce over tokens, so they are split by channel: no races, fixed order.
    Parallel.forEachChunk(C, grain: T >= 256 ? 16 : C) { cols in
        for t in 0 ..< T {
            let x = inp + t * C, d = dout + t * C
            let m = mean[t], s = rstd[t]
            for c in cols {
                dweight[c] += d[c] * (x[c] - m) * s
                dbias[c] += d[c]
            }
        }
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
