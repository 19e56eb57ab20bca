import CKernels

// Shape legend: T tokens (rows), N features.

/// out[t] = bias, for every row: written before a matrix product that then accumulates (beta = 1), which
/// costs one pass instead of a product pass plus an add pass.
/// - out [T, N]; bias [N]
public func biasBroadcast(_ out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, T: Int, N: Int) {
    Parallel.forEachChunk(T, grain: Swift.max(1, (1 << 14) / Swift.max(N, 1))) { rows in
        for t in rows { (out + t * N).update(from: bias, count: N) }
    }
}

/// out[t] += bias for every row.
/// - out [T, N] (+=); bias [N]
public func biasForward(_ out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, T: Int, N: Int) {
    Parallel.forEachChunk(T, grain: Swift.max(1, (1 << 14) / Swift.max(N, 1))) { rows in
        bt_bias_forward(out + rows.lowerBound * N, bias, rows.count, N)
    }
}

/// The mirror of `biasForward`: dbias += Σ_t dout[t], split by feature so sums keep token order.
/// - dbias [N] (+=); dout [T, N]
public func biasBackward(_ dbias: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, T: Int, N: Int) {
    Parallel.forEachChunk(N, grain: T >= 256 ? 16 : N) { cols in
        bt_bias_backward(dbias, dout, T, N, cols.lowerBound, cols.upperBound)
    }
}

/// Naive reference for `biasBackward`.
public func biasBackwardReference(_ dbias: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, T: Int, N: Int) {
    for n in 0 ..< N {
        var sum: Float = 0
        for t in 0 ..< T { sum += dout[t * N + n] }
        dbias[n] += sum
    }
}
