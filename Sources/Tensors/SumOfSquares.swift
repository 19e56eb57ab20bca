import CKernels

/// Σ x² over `count` values (a gradient norm's square): per block of 4,096, sixteen single-precision partial sums
/// (CKernels), blocks added in Double; blocks are summed on all cores into one partial each and the partials
/// added in block order, so the result does not depend on the thread count.
/// - values [N]
///
/// With `sparse`, the blocks that lie wholly in its matrix and meet none of its touched rows are zeros and count
/// as 0 without being read: a block of zeros sums to exactly 0, so the result is the same bits either way.
public func sumOfSquares(_ values: UnsafePointer<Float>, count: Int, sparse: SparseGradientRows? = nil) -> Double {
    let block = 4096
    let blocks = (count + block - 1) / block
    if blocks <= 64 { return bt_sum_of_squares(values, count) }
    var read = [Bool](repeating: true, count: blocks)
    if let sparse, sparse.range.upperBound <= count {
        let matrix = sparse.range
        // Blocks wholly inside the matrix are skipped unless a touched row reaches into them.
        let first = (matrix.lowerBound + block - 1) / block, end = matrix.upperBound / block
        if first < end {
            for b in first ..< end { read[b] = false }
            for row in sparse.touched.list {
                let rowStart = matrix.lowerBound + row * sparse.width
                for b in rowStart / block ... (rowStart + sparse.width - 1) / block { read[b] = true }
            }
        }
    }
    var partials = [Double](repeating: 0, count: blocks)
    partials.withUnsafeMutableBufferPointer { partials in
        read.withUnsafeBufferPointer { read in
            Parallel.forEachChunk(blocks, grain: 64) { r in
                for b in r where read[b] {
                    let start = b * block
                    partials[b] = bt_sum_of_squares(values + start, Swift.min(block, count - start))
                }
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
