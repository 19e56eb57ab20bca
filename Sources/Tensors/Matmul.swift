// Shape legend: T tokens (rows), IC input channels, OC output channels. Weights are PyTorch Linear
// weights [OC, IC], used through BLAS transposes.

/// out = inp · weightᵀ + bias, the product in `precision` (BF16 needs a scratch for the rounded inputs).
/// - out [T, OC]; inp [T, IC]; weight [OC, IC], bias [OC] or nil
public func matmulForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          T: Int, IC: Int, OC: Int, precision: GEMMPrecision = .fp32, scratch: GEMMScratch? = nil) {
    if let bias { biasBroadcast(out, bias, T: T, N: OC) }
    BLAS.gemm(precision, .none, .transposed, m: T, n: OC, k: IC, a: inp, lda: IC, b: weight, ldb: IC,
              beta: bias == nil ? 0 : 1, c: out, ldc: OC, scratch: scratch)
}

/// The mirror of `matmulForward`: dinp = dout · weight (or += when `accumulateInput`),
/// dweight += doutᵀ · inp, dbias += Σ_t dout; both products in `precision`.
/// - dinp [T, IC] or nil; dweight [OC, IC] (+=), dbias [OC] (+=) or nil
/// - dout [T, OC]; inp [T, IC]; weight [OC, IC]
public func matmulBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>,
                           _ dbias: UnsafeMutablePointer<Float>?,
                           _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                           _ weight: UnsafePointer<Float>,
                           T: Int, IC: Int, OC: Int, accumulateInput: Bool = false,
                           precision: GEMMPrecision = .fp32, scratch: GEMMScratch? = nil) {
    if let dbias { biasBackward(dbias, dout, T: T, N: OC) }
    BLAS.gemm(precision, .transposed, .none, m: OC, n: IC, k: T, a: dout, lda: OC, b: inp, ldb: IC,
              beta: 1, c: dweight, ldc: IC, scratch: scratch)
    if let dinp {
        BLAS.gemm(precision, .none, .none, m: T, n: IC, k: OC, a: dout, lda: OC, b: weight, ldb: IC,
                  beta: accumulateInput ? 1 : 0, c: dinp, ldc: IC, scratch: scratch)
    }
}

/// Naive reference for `matmulForward`, accumulating in Double.
public func matmulForwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                   _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                   T: Int, IC: Int, OC: Int) {
    for t in 0 ..< T {
        for o in 0 ..< OC {
            var sum = Double(bias?[o] ?? 0)
            for i in 0 ..< IC { sum += Double(inp[t * IC + i]) * Double(weight[o * IC + i]) }
            out[t * OC + o] = Float(sum)
        }
    }
}
