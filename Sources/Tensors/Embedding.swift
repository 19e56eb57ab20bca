// Shape legend: T tokens, C channels, V vocabulary, P positions, TV token types.

/// out[t] = wte[ids[t]] + wpe[positions[t]] + wtt[types[t]] (types all 0 when nil).
///
/// - out:       [T, C]
/// - ids:       [T] in 0 ..< V, positions: [T] in 0 ..< P, types: [T] in 0 ..< TV or nil
/// - wte [V, C], wpe [P, C], wtt [TV, C]
public func embeddingForward(_ out: UnsafeMutablePointer<Float>,
                             _ ids: UnsafePointer<Int32>, _ positions: UnsafePointer<Int32>,
                             _ types: UnsafePointer<Int32>?,
                             _ wte: UnsafePointer<Float>, _ wpe: UnsafePointer<Float>, _ wtt: UnsafePointer<Float>,
                             T: Int, C: Int) {
    Parallel.forEachChunk(T, grain: 64) { rows in
        for t in rows {
            let o = out + t * C
            let e = wte + Int(ids[t]) * C
            let p = wpe + Int(positions[t]) * C
            let y = wtt + Int(types?[t] ?? 0) * C
            for c in 0 ..< C { o[c] = e[c] + p[c] + y[c] }
        }
    }
}

/// Scatter-adds dout into the three tables (accumulates): the mirror of `embeddingForward`.
///
/// Work is split by channel, not by token, so two tokens with the same id never race, and each
/// table row sums its tokens in token order whatever the thread count.
/// - dwte [V, C], dwpe [P, C], dwtt [TV, C] (+=); dout [T, C]
public func embeddingBackward(_ dwte: UnsafeMutablePointer<Float>, _ dwpe: UnsafeMutablePointer<Float>,
                              _ dwtt: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>,
                              _ ids: UnsafePointer<Int32>, _ positions: UnsafePointer<Int32>,
                              _ types: UnsafePointer<Int32>?,
                              T: Int, C: Int) {
    let grain = T >= 256 ? 16 : C   // small batches: one chunk
    Parallel.forEachChunk(C, grain: grain) { cols in
        for t in 0 ..< T {
            let d = dout + t * C
            let e = dwte + Int(ids[t]) * C
            let p = dwpe + Int(positions[t]) * C
            let y = dwtt + Int(types?[t] ?? 0) * C
            for c in cols {
                e[c] += d[c]
                p[c] += d[c]
                y[c] += d[c]
            }
        }
    }
}

/// Naive reference for `embeddingForward`.
public func embeddingForwardReference(_ out: UnsafeMutablePointer<Float>,
                                      _ ids: UnsafePointer<Int32>, _ positions: UnsafePointer<Int32>,
                                      _ types: UnsafePointer<Int32>?,
                                      _ wte: UnsafePointer<Float>, _ wpe: UnsafePointer<Float>,
                                      _ wtt: UnsafePointer<Float>, T: Int, C: Int) {
    for t in 0 ..< T {
        for c in 0 ..< C {
            out[t * C + c] = wte[Int(ids[t]) * C + c] + wpe[Int(positions[t]) * C + c]
                + wtt[Int(types?[t] ?? 0) * C + c]
        }
    }
}

/// Naive reference for `embeddingBackward`.
public func embeddingBackwardReference(_ dwte: UnsafeMutablePointer<Float>, _ dwpe: UnsafeMutablePointer<Float>,
                                       _ dwtt: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                                       _ ids: UnsafePointer<Int32>, _ positions: UnsafePointer<Int32>,
                                       _ types: UnsafePointer<Int32>?, T: Int, C: Int) {
    for t in 0 ..< T {
        for c in 0 ..< C {
            dwte[Int(ids[t]) * C + c] += dout[t * C + c]
            dwpe[Int(positions[t]) * C + c] += dout[t * C + c]
            dwtt[Int(types?[t] ?? 0) * C + c] += dout[t * C + c]
        }
    }
}
