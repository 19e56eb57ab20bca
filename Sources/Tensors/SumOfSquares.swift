import CKernels

/// Σ x² over `count` values (a gradient norm's square): per block of 4,096, sixteen single-precision partial sums
/// (CKernels), blocks added in Double; blocks are summed on all cores into one partial each and the partials
/// added in block order, so the result does not depend on the thread count.
/// - values [N]
public func sumOfSquares(_ values: UnsafePointer<Float>, count: Int) -> Double {
    let block = 4096
    let blocks = (count + block - 1) / block
    if blocks <= 64 { return bt_sum_of_squares(values, count) }
    var partials = [Double](repeating: 0, count: blocks)
    partials.withUnsafeMutableBufferPointer { partials in
        Parallel.forEachChunk(blocks, grain: 64) { r in
            for b in r {
                let start = b * block
                partials[b] = bt_sum_of_squares(values + start, Swift.min(block, count - start))
            }
        }
    }
    return partials.reduce(0, +)
}

/// Naive reference for `sumOfSquares`, in Double.
public func sumOfSquaresReference(_ values: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    for i in 0 ..< count { total += Double(values[i]) * Double(values[i]) }
    return total
}
