import Testing
@testable import Tensors

@Suite struct MatmulTests {
    @Test(arguments: [(7, 5, 6), (300, 33, 17)])
    func forwardMatchesNaiveReference(shape: (Int, Int, Int)) {
        let (T, IC, OC) = shape
        var r = TestRandom(1)
        let inp = r.floats(T * IC), w = r.floats(OC * IC), b = r.floats(OC)
        var fast = [Float](repeating: 0, count: T * OC), slow = fast
        matmulForward(&fast, inp, w, b, T: T, IC: IC, OC: OC)
        matmulForwardReference(&slow, inp, w, b, T: T, IC: IC, OC: OC)
        #expect(maxAbsDifference(fast, slow) < 1e-5, "largest difference \(maxAbsDifference(fast, slow))")
    }

    /// Tolerance: 1e-5 relative to the largest gradient (Float kernels against Double central differences).
    @Test func backwardMatchesFiniteDifferences() {
        let T = 4, IC = 3, OC = 5
        var r = TestRandom(2)
        let inp = r.floats(T * IC), w = r.floats(OC * IC), b = r.floats(OC), dout = r.floats(T * OC)
        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var out = [Double](repeating: 0, count: T * OC)
            for t in 0 ..< T { for o in 0 ..< OC {
                out[t * OC + o] = b[o] + (0 ..< IC).map { x[t * IC + $0] * w[o * IC + $0] }.reduce(0, +)
            } }
            return dot(dout.doubles, out)
        }
        var dinp = [Float](repeating: 9, count: T * IC)   // overwritten, so the 9s must vanish
        var dw = [Float](repeating: 0, count: OC * IC), db = [Float](repeating: 0, count: OC)
        matmulBackward(&dinp, &dw, &db, dout, inp, w, T: T, IC: IC, OC: OC)
        let nx = numericGradient(inp.doubles) { forward($0, w.doubles, b.doubles) }
        let nw = numericGradient(w.doubles) { forward(inp.doubles, $0, b.doubles) }
        let nb = numericGradient(b.doubles) { forward(inp.doubles, w.doubles, $0) }
        #expect(scaledMaxError(dinp, nx) < 1e-5)
        #expect(scaledMaxError(dw, nw) < 1e-5)
        #expect(scaledMaxError(db, nb) < 1e-5)

        // Accumulating forms add to what is there.
        var dinp2 = [Float](repeating: 1, count: T * IC)
        matmulBackward(&dinp2, &dw, &db, dout, inp, w, T: T, IC: IC, OC: OC, accumulateInput: true)
        #expect(scaledMaxError(dinp2, nx.map { $0 + 1 }) < 1e-5)
        #expect(scaledMaxError(dw, nw.map { 2 * $0 }) < 1e-5)
    }
}
