/// out = a + b, elementwise; out may alias either input.
/// - out [N]; a [N], b [N]
public func residualForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                            count: Int) {
    Parallel.forEachChunk(count, grain: 1 << 15) { r in
        for i in r { out[i] = a[i] + b[i] }
    }
}

/// The mirror of `residualForward`: da += dout, db += dout.
/// - da [N], db [N] (+=); dout [N]
public func residualBackward(_ da: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>,
                             _ dout: UnsafePointer<Float>, count: Int) {
    Parallel.forEachChunk(count, grain: 1 << 15) { r in
        for i in r {
            da[i] += dout[i]
            db[i] += dout[i]
        }
    }
}

/// Naive reference for `residualForward`.
public func residualForwardReference(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                     _ b: UnsafePointer<Float>, count: Int) {
    for i in 0 ..< count { out[i] = a[i] + b[i] }
}
