import CKernels

/// out = a + b, elementwise; out may alias either input.
/// - out [N]; a [N], b [N]
public func residualForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                            count: Int) {
    Parallel.forEachChunk(count, grain: 1 << 15) { r in
        bt_add(out + r.lowerBound, a + r.lowerBound, b + r.lowerBound, r.count)
    }
}

/// The mirror of `residualForward`: da += dout, db += dout.
/// - da [N], db [N] (+=); dout [N]
public func residualBackward(_ da: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>,
                             _ dout: UnsafePointer<Float>, count: Int) {
    Parallel.forEachChunk(count, grain: 1 << 15) { r in
        bt_accumulate_twice(da + r.lowerBound, db + r.lowerBound, dout + r.lowerBound, r.count)
    }
}

/// Naive reference for `residualForward`.
public func residualForwardReference(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                     _ b: UnsafePointer<Float>, count: Int) {
    for i in 0 ..< count { out[i] = a[i] + b[i] }
}
