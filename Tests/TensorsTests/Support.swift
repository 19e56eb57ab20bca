import Tensors

/// Random test data from a fixed seed.
struct TestRandom {
    var rng: SplitMix64
    init(_ seed: UInt64) { rng = SplitMix64(seed: seed) }
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0 ..< count).map { _ in scale * (2 * rng.nextUniform() - 1) }
    }
    mutating func ints(_ count: Int, below limit: Int) -> [Int32] {
        (0 ..< count).map { _ in Int32(rng.next() % UInt64(limit)) }
    }
}

/// Central differences in Double: d f / d x_i ≈ (f(x + h e_i) - f(x - h e_i)) / 2h.
func numericGradient(_ x: [Double], h: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var probe = x
    return (0 ..< x.count).map { i in
        probe[i] = x[i] + h
        let up = f(probe)
        probe[i] = x[i] - h
        let down = f(probe)
        probe[i] = x[i]
        return (up - down) / (2 * h)
    }
}

/// Largest |a - b| over the larger of 1e-3 and the largest |b|: an error relative to the values' scale.
func scaledMaxError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
    let scale = max(1e-3, b.map(abs).max() ?? 0)
    return zip(a, b).map { abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Weighted sum Σ w_i y_i: the scalar whose gradient backward computes when dout = w.
func dot(_ w: [Double], _ y: [Double]) -> Double { zip(w, y).map(*).reduce(0, +) }

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}
