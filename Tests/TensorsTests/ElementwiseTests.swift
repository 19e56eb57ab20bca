import Foundation
import Testing
@testable import Tensors

extension Optional where Wrapped == [Int32] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Int32>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}

@Suite struct EmbeddingTests {
    @Test(arguments: [(5, 4), (300, 40)])
    func forwardAndScatterAddMatchNaiveReferences(shape: (Int, Int)) {
        let (T, C) = shape, V = 7, P = 9, TV = 2
        var r = TestRandom(3)
        let ids = r.ints(T, below: V), positions = r.ints(T, below: P), types = r.ints(T, below: TV)
        let wte = r.floats(V * C), wpe = r.floats(P * C), wtt = r.floats(TV * C), dout = r.floats(T * C)
        for typeIDs in [nil, types] {
            var fast = [Float](repeating: 0, count: T * C), slow = fast
            typeIDs.withOptionalPointer { tp in
                embeddingForward(&fast, ids, positions, tp, wte, wpe, wtt, T: T, C: C)
                embeddingForwardReference(&slow, ids, positions, tp, wte, wpe, wtt, T: T, C: C)
            }
            #expect(fast == slow)
            var e1 = [Float](repeating: 0.5, count: V * C), p1 = [Float](repeating: 0, count: P * C)
            var y1 = [Float](repeating: 0, count: TV * C)
            var e2 = e1, p2 = p1, y2 = y1
            typeIDs.withOptionalPointer { tp in
                embeddingBackward(&e1, &p1, &y1, dout, ids, positions, tp, T: T, C: C)
                embeddingBackwardReference(&e2, &p2, &y2, dout, ids, positions, tp, T: T, C: C)
            }
            #expect(maxAbsDifference(e1, e2) < 1e-5 && maxAbsDifference(p1, p2) < 1e-5 && maxAbsDifference(y1, y2) < 1e-5)
        }
    }

    /// The lookup is linear, so the check is tight: tolerance 1e-6 relative to the largest gradient.
    @Test func backwardMatchesFiniteDifferences() {
        let T = 6, C = 3, V = 4, P = 5
        var r = TestRandom(4)
        let ids: [Int32] = [1, 3, 1, 0, 3, 3], positions: [Int32] = [0, 1, 2, 0, 1, 4]
        let wte = r.floats(V * C), wpe = r.floats(P * C), wtt = r.floats(2 * C), dout = r.floats(T * C)
        func loss(_ wte: [Double]) -> Double {
            var s = 0.0
            for t in 0 ..< T { for c in 0 ..< C {
                let e = wte[Int(ids[t]) * C + c] + Double(wpe[Int(positions[t]) * C + c]) + Double(wtt[c])
                s += Double(dout[t * C + c]) * e
            } }
            return s
        }
        var dwte = [Float](repeating: 0, count: V * C), dwpe = [Float](repeating: 0, count: P * C)
        var dwtt = [Float](repeating: 0, count: 2 * C)
        embeddingBackward(&dwte, &dwpe, &dwtt, dout, ids, positions, nil, T: T, C: C)
        #expect(scaledMaxError(dwte, numericGradient(wte.doubles, loss)) < 1e-6)
    }
}

@Suite struct LayerNormTests {
    @Test(arguments: [(3, 8), (257, 384)])
    func forwardMatchesNaiveReference(shape: (Int, Int)) {
        let (T, C) = shape
        var r = TestRandom(5)
        let x = r.floats(T * C, scale: 3).map { $0 + 1 }, w = r.floats(C), b = r.floats(C)
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        var rout = out, rmean = mean, rrstd = rstd
        layerNormForward(&out, &mean, &rstd, x, w, b, T: T, C: C, eps: 1e-12)
        layerNormForwardReference(&rout, &rmean, &rrstd, x, w, b, T: T, C: C, eps: 1e-12)
        #expect(maxAbsDifference(out, rout) < 2e-5, "largest difference \(maxAbsDifference(out, rout))")
        #expect(maxAbsDifference(mean, rmean) < 1e-5 && maxAbsDifference(rstd, rrstd) < 1e-4)
    }

    /// Tolerance: 1e-4 relative to the largest gradient.
    @Test(arguments: [(3, 8), (300, 20)])
    func backwardMatchesFiniteDifferences(shape: (Int, Int)) {
        let (T, C) = shape, eps = 1e-5
        var r = TestRandom(6)
        let x = r.floats(T * C, scale: 2), w = r.floats(C), b = r.floats(C), dout = r.floats(T * C)
        func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var s = 0.0
            for t in 0 ..< T {
                let row = Array(x[t * C ..< (t + 1) * C])
                let m = row.reduce(0, +) / Double(C)
                let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(C)
                for c in 0 ..< C { s += Double(dout[t * C + c]) * ((row[c] - m) / (v + eps).squareRoot() * w[c] + b[c]) }
            }
            return s
        }
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        layerNormForward(&out, &mean, &rstd, x, w, b, T: T, C: C, eps: Float(eps))
        var dx = [Float](repeating: 7, count: T * C), dw = [Float](repeating: 0, count: C), db = dw
        layerNormBackward(&dx, &dw, &db, dout, x, w, mean, rstd, T: T, C: C)
        let xd = x.doubles, wd = w.doubles, bd = b.doubles
        // Each row's input gradient depends on that row only: check the first three rows.
        let few = 3 * C
        let partial = numericGradient(Array(xd[0 ..< few])) { loss($0 + xd[few...], wd, bd) }
        #expect(scaledMaxError(Array(dx[0 ..< few]), partial) < 1e-4)
        #expect(scaledMaxError(dw, numericGradient(wd) { loss(xd, $0, bd) }) < 1e-4)
        #expect(scaledMaxError(db, numericGradient(bd) { loss(xd, wd, $0) }) < 1e-4)
    }
}

@Suite struct ActivationTests {
    @Test func fastMathIsAccurate() {
        var worstExp = 0.0, worstErf = 0.0
        for i in -4000 ... 4000 {
            let x = Float(i) / 100
            let exact = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(Double(fastExp(x)) - exact) / exact)
            worstErf = max(worstErf, abs(Double(fastErf(x)) - Foundation.erf(Double(x))))
        }
        #expect(worstExp < 3e-7, "exp relative error \(worstExp)")
        #expect(worstErf < 5e-7, "erf absolute error \(worstErf)")
        #expect(fastExp(-200) < 1e-37)
    }

    @Test(arguments: [GELUForm.erf, .tanh, .relu])
    func forwardMatchesNaiveReference(form: GELUForm) {
        var r = TestRandom(7)
        let x = r.floats(70_000, scale: 6)
        var fast = [Float](repeating: 0, count: x.count), slow = fast
        geluForward(&fast, x, count: x.count, form: form)
        geluForwardReference(&slow, x, count: x.count, form: form)
        #expect(maxAbsDifference(fast, slow) < 3e-6, "largest difference \(maxAbsDifference(fast, slow))")
    }

    /// GELU by cubic pieces (INT8 inference's activation) against the exact GELU in Double: within 6e-7 everywhere
    /// (Scripts/make_gelu_pieces.py measures 5.4e-7 over [-12, 12]); within 2e-4 relative for |x| ≤ 1e-3 down to the
    /// smallest normal numbers (measured 1.3e-4; the first piece passes through 0); at every piece's ends, past the
    /// pieces' range, at the infinities and NaN; on odd lengths (the vectors' tails), in place as out of place.
    @Test func geluPiecesStayWithinSixTenMillionthsOfTheExactGELU() {
        let scale = Float(32 / 5.5)
        var x = (-240_001 ... 240_001).map { Float($0) * 5e-5 }
        x += (0 ... 32).flatMap { i -> [Float] in
            let end = Float(i) / scale
            return [end, end.nextUp, end.nextDown, -end, -end.nextUp, -end.nextDown]
        }
        x += [0, -0.0, 1e-30, -1e-30, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 5.5, -5.5, 20, -20, 1e30,
              -1e30, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        var out = [Float](repeating: .nan, count: x.count)
        geluPiecesForward(&out, x, count: x.count)
        var worst = 0.0, worstAt: Float = 0, worstRelative = 0.0
        for (v, g) in zip(x, out) {
            let exact = 0.5 * Double(v) * (1 + Foundation.erf(Double(v) / 2.0.squareRoot()))
            let error = abs(Double(g) - exact)
            // Past 2^24 a float is its own GELU to within its last place.
            let allowed = Swift.max(6e-7, Double(v.ulp))
            if error / allowed > worst / Swift.max(6e-7, Double(worstAt.ulp)) { worst = error; worstAt = v }
            #expect(error <= allowed, "GELU(\(v)) = \(g), exact \(exact)")
            if abs(v) >= .leastNormalMagnitude && abs(v) <= 1e-3 {
                worstRelative = Swift.max(worstRelative, error / abs(exact))
            }
        }
        #expect(worstRelative <= 2e-4, "relative error \(worstRelative) near 0")
        #expect(worst > 1e-7, "largest error \(worst) at \(worstAt): the check compares against something")

        var specials: [Float] = [.infinity, -.infinity, .nan]
        geluPiecesForward(&specials, specials, count: 3)
        #expect(specials[0] == .infinity)
        #expect(abs(specials[1]) <= 2e-7, "GELU(-inf) = \(specials[1])")
        #expect(specials[2].isNaN)

        // Tails of every length, in place, give the same values as the long run above.
        for n in 1 ... 33 {
            var part = Array(x[1000 ..< 1000 + n])
            geluPiecesForward(&part, part, count: n)
            #expect(part == Array(out[1000 ..< 1000 + n]), "length \(n)")
        }
    }

    /// The vectorized body and its scalar tail on an odd length, split over workers, against Double libm.
    @Test(arguments: [GELUForm.erf, .tanh, .relu])
    func backwardMatchesNaiveReference(form: GELUForm) {
        var r = TestRandom(17)
        let x = r.floats(70_003, scale: 6), dout = r.floats(70_003)
        var fast = [Float](repeating: 0, count: x.count), slow = fast
        geluBackward(&fast, dout, x, count: x.count, form: form)
        geluBackwardReference(&slow, dout, x, count: x.count, form: form)
        #expect(maxAbsDifference(fast, slow) < 3e-6, "largest difference \(maxAbsDifference(fast, slow))")
    }

    /// The C softmax's sixteen-lane exp is the scalar fastExp lane by lane, and its sum the sixteen partial sums
    /// added in their fixed tree: the kernel's bits, written out in Swift, on rows off the lanes, saturated ends
    /// included.
    @Test(arguments: [1, 7, 16, 37, 100])
    func softmaxKernelIsScalarFastExpOverSixteenLaneSums(n: Int) {
        var r = TestRandom(18)
        let specials: [Float] = [-200, -88, -87.5, -15.5, -4.5, 0, 4.5, 15.5, 88, 89, 200, -1e-30, 1e-30, 0.5, -0.5, 3]
        let rows = 40
        let scores = (0 ..< rows * n).map { $0 % 5 == 0 ? specials[$0 % specials.count] : 30 * (2 * r.rng.nextUniform() - 1) }
        var probs = [Float](repeating: 0, count: rows * n)
        softmaxForward(&probs, scores, R: rows, N: n)
        for row in 0 ..< rows {
            let s = scores[row * n ..< (row + 1) * n]
            let m = s.max()!
            let e = s.map { fastExp($0 - m) }
            var lanes = [Float](repeating: 0, count: 16)
            for (j, value) in e.enumerated() { lanes[j % 16] += value }
            var width = 8
            while width >= 1 {
                for j in 0 ..< width { lanes[j] += lanes[j + width] }
                width /= 2
            }
            let inv = 1 / lanes[0]
            for j in 0 ..< n {
                #expect(probs[row * n + j].bitPattern == (e[j] * inv).bitPattern, "row \(row), column \(j)")
            }
        }
    }

    /// The C kernels (one clone per instruction set) give the bits of GELU written with the scalar fast forms,
    /// on every element of an odd length split over workers, saturated ends, zeros and NaN included.
    @Test(arguments: [GELUForm.erf, .tanh, .relu])
    func kernelsEqualTheScalarFormsBitForBit(form: GELUForm) {
        var r = TestRandom(19)
        let x = r.floats(50_001, scale: 30) + [-200, -15.5, -4.5, -0.0, 0, 4.5, 15.5, 200, .nan, -1e-30, 1e-30]
        let dout = r.floats(x.count)
        let invSqrt2: Float = 0.707_106_781_186_547_5, invSqrt2Pi: Float = 0.398_942_280_401_432_7
        let sqrt2OverPi: Float = 0.797_884_560_802_865_4
        var out = [Float](repeating: 0, count: x.count), dinp = out
        geluForward(&out, x, count: x.count, form: form)
        geluBackward(&dinp, dout, x, count: x.count, form: form)
        for i in x.indices {
            let v = x[i]
            let forward: Float, derivative: Float
            switch form {
            case .erf:
                forward = 0.5 * v * (1 + fastErf(v * invSqrt2))
                let cdf = 0.5 * (1 + fastErf(v * invSqrt2)), pdf = invSqrt2Pi * fastExp(-0.5 * v * v)
                derivative = dout[i] * (cdf + v * pdf)
            case .tanh:
                forward = 0.5 * v * (1 + fastTanh(sqrt2OverPi * (v + 0.044715 * v * v * v)))
                let th = fastTanh(sqrt2OverPi * (v + 0.044715 * v * v * v))
                let du = sqrt2OverPi * (1 + 3 * 0.044715 * v * v)
                derivative = dout[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * du)
            case .relu:
                forward = Swift.max(v, 0)
                derivative = v > 0 ? dout[i] : 0
            }
            #expect(out[i].bitPattern == forward.bitPattern || (out[i].isNaN && forward.isNaN), "GELU(\(v)): \(out[i]) vs \(forward)")
            #expect(dinp[i].bitPattern == derivative.bitPattern || (dinp[i].isNaN && derivative.isNaN),
                    "GELU'(\(v)): \(dinp[i]) vs \(derivative)")
        }
    }

    /// Tolerance: 1e-5 relative to the largest gradient, against Double GELU with libm's erf and tanh.
    @Test(arguments: [GELUForm.erf, .tanh, .relu])
    func backwardMatchesFiniteDifferences(form: GELUForm) {
        var r = TestRandom(8)
        let x = r.floats(40, scale: 4).filter { abs($0) > 1e-3 }
        let dout = r.floats(x.count)
        func loss(_ x: [Double]) -> Double {
            dot(dout.doubles, x.map { x in
                switch form {
                case .erf: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
                case .tanh: return 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
                case .relu: return max(x, 0)
                }
            })
        }
        var dx = [Float](repeating: 0, count: x.count)
        geluBackward(&dx, dout, x, count: x.count, form: form)
        #expect(scaledMaxError(dx, numericGradient(x.doubles, loss)) < 1e-5)
    }
}

@Suite struct SoftmaxTests {
    @Test func forwardMatchesNaiveReference() {
        var r = TestRandom(9)
        let s = r.floats(5 * 31, scale: 20)
        var fast = [Float](repeating: 0, count: s.count), slow = fast
        softmaxForward(&fast, s, R: 5, N: 31)
        softmaxForwardReference(&slow, s, R: 5, N: 31)
        #expect(maxAbsDifference(fast, slow) < 1e-6)
    }

    /// Tolerance: 1e-5 relative to the largest gradient.
    @Test func backwardMatchesFiniteDifferences() {
        let R = 3, N = 6
        var r = TestRandom(10)
        let s = r.floats(R * N, scale: 3), dout = r.floats(R * N)
        func loss(_ s: [Double]) -> Double {
            var total = 0.0
            for i in 0 ..< R {
                let row = s[i * N ..< (i + 1) * N], m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                for j in 0 ..< N { total += Double(dout[i * N + j]) * e[j] / z }
            }
            return total
        }
        var p = [Float](repeating: 0, count: R * N), ds = p
        softmaxForward(&p, s, R: R, N: N)
        softmaxBackward(&ds, dout, p, R: R, N: N)
        #expect(scaledMaxError(ds, numericGradient(s.doubles, loss)) < 1e-5)
    }
}

@Suite(.serialized) struct DropoutTests {
    /// The eight-lane mask and its scalar tail, on odd lengths and with counters that wrap past 2^32.
    @Test(arguments: [UInt32(5), UInt32.max - 3])
    func vectorizedMaskMatchesNaiveReferenceOnOddLengths(counterBase: UInt32) {
        var r = TestRandom(19)
        let random = CounterRandom(key: 7)
        for count in [1, 7, 8, 9, 31, 70_001] {
            let x = r.floats(count).map { $0 + 2 }
            var fast = [Float](repeating: 0, count: count), row = fast, slow = fast
            dropoutForward(&fast, x, count: count, probability: 0.3, random: random, counterBase: counterBase)
            dropoutRowForward(&row, x, count: count, probability: 0.3, random: random, counterBase: counterBase)
            dropoutForwardReference(&slow, x, count: count, probability: 0.3, random: random, counterBase: counterBase)
            #expect(fast.map { $0 == 0 } == slow.map { $0 == 0 }, "mask of \(count)")
            #expect(maxAbsDifference(fast, slow) < 1e-6)
            #expect(row == fast)
        }
        let counters = SIMD8<UInt32>(0, 1, 99, 1 << 31, UInt32.max, 12_345, 7, 8)
        let lanes = random.bits(counters)
        for lane in 0 ..< 8 { #expect(lanes[lane] == random.bits(counters[lane])) }
    }

    @Test func forwardMatchesNaiveReferenceAndDropsAboutP() {
        var r = TestRandom(11)
        let x = r.floats(200_000).map { $0 + 2 }, random = CounterRandom(key: 42)
        var fast = [Float](repeating: 0, count: x.count), slow = fast
        dropoutForward(&fast, x, count: x.count, probability: 0.1, random: random, counterBase: 5)
        dropoutForwardReference(&slow, x, count: x.count, probability: 0.1, random: random, counterBase: 5)
        #expect(maxAbsDifference(fast, slow) < 1e-6)
        let dropped = Double(fast.filter { $0 == 0 }.count) / Double(x.count)
        #expect(abs(dropped - 0.1) < 0.005, "dropped fraction \(dropped)")
        // Kept values are scaled so the expectation is unchanged.
        let meanIn = x.map(Double.init).reduce(0, +) / Double(x.count)
        let meanOut = fast.map(Double.init).reduce(0, +) / Double(x.count)
        #expect(abs(meanOut - meanIn) < 0.02)
    }

    @Test func backwardUsesTheSameMaskAndIgnoresThreadCount() {
        let n = 100_000, random = CounterRandom(key: 7)
        let ones = [Float](repeating: 1, count: n)
        var forward = [Float](repeating: 0, count: n), backward = forward, serial = forward
        dropoutForward(&forward, ones, count: n, probability: 0.3, random: random)
        dropoutBackward(&backward, ones, count: n, probability: 0.3, random: random)
        #expect(forward == backward)
        let threads = Parallel.threadCount
        Parallel.setThreadCount(1)
        dropoutForward(&serial, ones, count: n, probability: 0.3, random: random)
        Parallel.setThreadCount(threads)
        #expect(serial == forward)
        var other = [Float](repeating: 0, count: n)
        dropoutForward(&other, ones, count: n, probability: 0.3, random: CounterRandom(key: 8))
        #expect(other != forward)
    }
}

@Suite struct ResidualBiasTests {
    @Test func residualForwardAndBackward() {
        var r = TestRandom(12)
        let a = r.floats(100_000), b = r.floats(100_000), d = r.floats(100_000)
        var out = [Float](repeating: 0, count: a.count), ref = out
        residualForward(&out, a, b, count: a.count)
        residualForwardReference(&ref, a, b, count: a.count)
        #expect(out == ref)
        var da = [Float](repeating: 1, count: a.count), db = [Float](repeating: 0, count: a.count)
        residualBackward(&da, &db, d, count: a.count)
        #expect(da == d.map { $0 + 1 } && db == d)
    }

    @Test(arguments: [(5, 7), (400, 64)])
    func biasForwardAndBackwardMatchReferences(shape: (Int, Int)) {
        let (T, N) = shape
        var r = TestRandom(13)
        let bias = r.floats(N), dout = r.floats(T * N)
        var out = [Float](repeating: 1, count: T * N)
        biasForward(&out, bias, T: T, N: N)
        #expect(out == (0 ..< T * N).map { 1 + bias[$0 % N] })
        var fast = [Float](repeating: 0.25, count: N), slow = fast
        biasBackward(&fast, dout, T: T, N: N)
        biasBackwardReference(&slow, dout, T: T, N: N)
        #expect(maxAbsDifference(fast, slow) < 1e-4)
    }
}

@Suite struct CrossEntropyTests {
    @Test func forwardMatchesNaiveReferenceAndIgnoresMinus100() {
        let T = 9, NL = 5
        var r = TestRandom(14)
        let logits = r.floats(T * NL, scale: 8)
        let labels: [Int32] = [0, 4, -100, 2, 2, -100, 1, 3, 0]
        var losses = [Float](repeating: 0, count: T), probs = [Float](repeating: 0, count: T * NL)
        var rl = losses, rp = probs
        let fast = crossEntropyForward(&losses, &probs, logits, labels, T: T, NL: NL)
        let slow = crossEntropyForwardReference(&rl, &rp, logits, labels, T: T, NL: NL)
        #expect(fast.count == 7 && slow.count == 7)
        #expect(abs(fast.sum - slow.sum) < 1e-4)
        #expect(maxAbsDifference(probs, rp) < 1e-6)
        #expect(losses[2] == 0 && losses[5] == 0)
    }

    /// Mean loss over labelled tokens; tolerance 1e-5 relative to the largest gradient.
    @Test func backwardMatchesFiniteDifferences() {
        let T = 5, NL = 4
        var r = TestRandom(15)
        let logits = r.floats(T * NL, scale: 3)
        let labels: [Int32] = [1, -100, 3, 0, 3]
        func meanLoss(_ z: [Double]) -> Double {
            var total = 0.0, count = 0.0
            for t in 0 ..< T where labels[t] != -100 {
                let row = z[t * NL ..< (t + 1) * NL], m = row.max()!
                total += Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) + m - z[t * NL + Int(labels[t])]
                count += 1
            }
            return total / count
        }
        var losses = [Float](repeating: 0, count: T), probs = [Float](repeating: 0, count: T * NL)
        let (_, count) = crossEntropyForward(&losses, &probs, logits, labels, T: T, NL: NL)
        var dz = [Float](repeating: 3, count: T * NL)
        crossEntropyBackward(&dz, probs, labels, scale: 1 / Float(count), T: T, NL: NL)
        #expect(scaledMaxError(dz, numericGradient(logits.doubles, meanLoss)) < 1e-5)
        #expect(dz[NL ..< 2 * NL].allSatisfy { $0 == 0 })
    }
}
