import Foundation
import Testing
@testable import Tensors

// The C kernels (CKernels) against naive references, on sizes that are not multiples of the sixteen lanes their
// sums run in, so every tail is exercised; and the fused kernels against the unfused steps they replace.

@Suite struct SoftmaxKernelTests {
    /// Tolerance: 1e-6 absolute (probabilities are at most 1; the row sum runs in sixteen partial sums).
    @Test(arguments: [1, 15, 17, 33, 121])
    func forwardMatchesDoubleReferenceOnOddWidths(N: Int) {
        var r = TestRandom(31)
        let R = 7, s = r.floats(R * N, scale: 12)
        var fast = [Float](repeating: 0, count: R * N), slow = fast
        softmaxForward(&fast, s, R: R, N: N)
        softmaxForwardReference(&slow, s, R: R, N: N)
        #expect(maxAbsDifference(fast, slow) < 1e-6, "largest difference \(maxAbsDifference(fast, slow))")
    }

    /// Tolerance: 1e-6 relative to the largest gradient.
    @Test(arguments: [1, 15, 17, 37, 121])
    func backwardMatchesDoubleReferenceOnOddWidths(N: Int) {
        var r = TestRandom(32)
        let R = 5, s = r.floats(R * N, scale: 4), dout = r.floats(R * N)
        var p = [Float](repeating: 0, count: R * N), fast = p, slow = p
        softmaxForward(&p, s, R: R, N: N)
        softmaxBackward(&fast, dout, p, R: R, N: N)
        softmaxBackwardReference(&slow, dout, p, R: R, N: N)
        #expect(scaledMaxError(fast, slow.doubles) < 1e-6, "error \(scaledMaxError(fast, slow.doubles))")
    }
}

@Suite struct InPlaceKernelTests {
    /// Attention and the inference plan run these with the output over the input; the in-place call must give
    /// the bits of the out-of-place one.
    @Test func inPlaceCallsGiveTheOutOfPlaceBits() {
        var r = TestRandom(33)
        let n = 4_099, x = r.floats(n, scale: 5), d = r.floats(n)
        func same(_ a: [Float], _ b: [Float]) -> Bool { zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern } }

        var out = [Float](repeating: 0, count: n), inPlace = x
        softmaxForward(&out, x, R: 1, N: n)
        softmaxForward(&inPlace, inPlace, R: 1, N: n)
        #expect(same(out, inPlace), "softmax forward")

        inPlace = d
        softmaxBackward(&out, d, x, R: 1, N: n)
        softmaxBackward(&inPlace, inPlace, x, R: 1, N: n)
        #expect(same(out, inPlace), "softmax backward")

        let random = CounterRandom(key: 3)
        inPlace = x
        dropoutForward(&out, x, count: n, probability: 0.2, random: random, counterBase: 11)
        dropoutForward(&inPlace, inPlace, count: n, probability: 0.2, random: random, counterBase: 11)
        #expect(same(out, inPlace), "dropout")

        for form in [GELUForm.erf, .tanh, .relu] {
            inPlace = x
            geluForward(&out, x, count: n, form: form)
            geluForward(&inPlace, inPlace, count: n, form: form)
            #expect(same(out, inPlace), "GELU \(form) forward")
            inPlace = d
            geluBackward(&out, d, x, count: n, form: form)
            geluBackward(&inPlace, inPlace, x, count: n, form: form)
            #expect(same(out, inPlace), "GELU \(form) backward")
        }

        inPlace = x
        residualForward(&out, x, d, count: n)
        residualForward(&inPlace, inPlace, d, count: n)
        #expect(same(out, inPlace), "residual")
    }
}

@Suite struct LayerNormKernelTests {
    /// Tolerance: 1e-5 absolute on outputs of order 1 (sums in sixteen partial sums against Double).
    @Test(arguments: [(67, 37), (5, 17), (3, 1), (33, 384)])
    func forwardMatchesDoubleReferenceOnOddSizes(shape: (Int, Int)) {
        let (T, C) = shape
        var r = TestRandom(34)
        let x = r.floats(T * C, scale: 3).map { $0 + 0.5 }, w = r.floats(C), b = r.floats(C)
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        var rout = out, rmean = mean, rrstd = rstd
        layerNormForward(&out, &mean, &rstd, x, w, b, T: T, C: C, eps: 1e-5)
        layerNormForwardReference(&rout, &rmean, &rrstd, x, w, b, T: T, C: C, eps: 1e-5)
        #expect(maxAbsDifference(out, rout) < 1e-5, "largest difference \(maxAbsDifference(out, rout))")
        #expect(maxAbsDifference(mean, rmean) < 1e-6)
        #expect(zip(rstd, rrstd).allSatisfy { abs($0 - $1) <= 1e-5 * abs($1) }, "rstd")
    }

    /// The fused kernel is dropout, then the residual add, then LayerNorm, to the bit: the same mask (counters
    /// t · C + c), the same sums.
    @Test(arguments: [(67, 37), (40, 384)], [true, false])
    func residualLayerNormEqualsDropoutThenAddThenLayerNorm(shape: (Int, Int), dropping: Bool) {
        let (T, C) = shape
        var r = TestRandom(35)
        let projection = r.floats(T * C, scale: 2), skip = r.floats(T * C), w = r.floats(C), b = r.floats(C)
        let mask = dropping ? DropoutMask(probability: 0.1, random: CounterRandom(key: 9)) : nil

        var residual = projection
        if let mask {
            dropoutForward(&residual, residual, count: T * C, probability: mask.probability, random: mask.random)
        }
        residualForward(&residual, residual, skip, count: T * C)
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        layerNormForward(&out, &mean, &rstd, residual, w, b, T: T, C: C, eps: 1e-12)

        var fusedResidual = projection                       // in place, as the model calls it
        var fused = [Float](repeating: 0, count: T * C), fusedMean = mean, fusedRstd = rstd
        residualLayerNormForward(&fused, &fusedMean, &fusedRstd, &fusedResidual, fusedResidual, skip, w, b,
                                 T: T, C: C, eps: 1e-12, dropout: mask)
        #expect(fusedResidual == residual && fused == out && fusedMean == mean && fusedRstd == rstd)

        // And against Double: the reference mask, the add and LayerNorm in Double.
        var dropped = projection
        if let mask {
            dropoutForwardReference(&dropped, projection, count: T * C, probability: mask.probability,
                                    random: mask.random)
        }
        let referenceResidual = zip(dropped, skip).map { $0 + $1 }
        var reference = out, referenceMean = mean, referenceRstd = rstd
        layerNormForwardReference(&reference, &referenceMean, &referenceRstd, referenceResidual, w, b,
                                  T: T, C: C, eps: 1e-12)
        #expect(maxAbsDifference(fusedResidual, referenceResidual) < 1e-5)
        #expect(maxAbsDifference(fused, reference) < 2e-5, "largest difference \(maxAbsDifference(fused, reference))")
    }

    /// The fused backward's residual gradient is LayerNorm's backward; its projection gradient is dropout's
    /// backward of it with the forward's mask; the parameter gradients accumulate the same.
    @Test(arguments: [(67, 37), (300, 20)])
    func residualLayerNormBackwardIsLayerNormBackwardThenDropoutBackward(shape: (Int, Int)) {
        let (T, C) = shape
        var r = TestRandom(36)
        let residual = r.floats(T * C, scale: 2), w = r.floats(C), b = r.floats(C), dout = r.floats(T * C)
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        layerNormForward(&out, &mean, &rstd, residual, w, b, T: T, C: C, eps: 1e-12)
        let mask = DropoutMask(probability: 0.1, random: CounterRandom(key: 10))

        var dinp = [Float](repeating: 0, count: T * C), dw = [Float](repeating: 0.5, count: C), db = dw
        layerNormBackward(&dinp, &dw, &db, dout, residual, w, mean, rstd, T: T, C: C)
        var dprojection = dinp
        dropoutBackward(&dprojection, dinp, count: T * C, probability: mask.probability, random: mask.random)

        var fusedDinp = [Float](repeating: 0, count: T * C), fusedDprojection = fusedDinp
        var fusedDw = [Float](repeating: 0.5, count: C), fusedDb = fusedDw
        residualLayerNormBackward(&fusedDinp, &fusedDprojection, &fusedDw, &fusedDb, dout, residual, w, mean, rstd,
                                  T: T, C: C, dropout: mask)
        #expect(fusedDinp == dinp && fusedDprojection == dprojection && fusedDw == dw && fusedDb == db)
    }

    /// LayerNorm's weight and bias gradients sum over tokens per channel, in token order: a running Float sum of
    /// dout · (x - mean) · rstd, to the bit, whatever the split over cores.
    @Test(arguments: [(67, 37), (300, 384)])
    func parameterGradientsAreRunningSumsInTokenOrder(shape: (Int, Int)) {
        let (T, C) = shape
        var r = TestRandom(42)
        let x = r.floats(T * C, scale: 2), w = r.floats(C), b = r.floats(C), dout = r.floats(T * C)
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        layerNormForward(&out, &mean, &rstd, x, w, b, T: T, C: C, eps: 1e-12)
        var dx = out, dw = r.floats(C), db = r.floats(C)
        var expectedW = dw, expectedB = db
        layerNormBackward(&dx, &dw, &db, dout, x, w, mean, rstd, T: T, C: C)
        for t in 0 ..< T {
            for c in 0 ..< C {
                expectedW[c] += dout[t * C + c] * (x[t * C + c] - mean[t]) * rstd[t]
                expectedB[c] += dout[t * C + c]
            }
        }
        #expect(dw == expectedW && db == expectedB)
    }

    /// Tolerance: 1e-4 relative to the largest gradient, on a width that is not a multiple of sixteen.
    @Test func backwardMatchesFiniteDifferencesOnAnOddWidth() {
        let T = 5, C = 37, eps = 1e-5
        var r = TestRandom(37)
        let x = r.floats(T * C, scale: 2), w = r.floats(C), b = r.floats(C), dout = r.floats(T * C)
        func loss(_ x: [Double], _ w: [Double]) -> Double {
            var total = 0.0
            for t in 0 ..< T {
                let row = x[t * C ..< (t + 1) * C]
                let m = row.reduce(0, +) / Double(C)
                let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(C)
                let s = 1 / (v + eps).squareRoot()
                for c in 0 ..< C {
                    total += Double(dout[t * C + c]) * ((x[t * C + c] - m) * s * w[c] + Double(b[c]))
                }
            }
            return total
        }
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        layerNormForward(&out, &mean, &rstd, x, w, b, T: T, C: C, eps: Float(eps))
        var dx = [Float](repeating: 0, count: T * C), dw = [Float](repeating: 0, count: C), db = dw
        layerNormBackward(&dx, &dw, &db, dout, x, w, mean, rstd, T: T, C: C)
        #expect(scaledMaxError(dx, numericGradient(x.doubles) { loss($0, w.doubles) }) < 1e-4)
        #expect(scaledMaxError(dw, numericGradient(w.doubles) { loss(x.doubles, $0) }) < 1e-4)
        let dbExpected = (0 ..< C).map { c in (0 ..< T).map { Double(dout[$0 * C + c]) }.reduce(0, +) }
        #expect(scaledMaxError(db, dbExpected) < 1e-6)
    }
}

@Suite struct BiasKernelTests {
    /// Bias gradients sum in token order per feature, so they equal a running sum in Float to the bit.
    @Test(arguments: [(67, 37), (1, 1), (300, 1_537)])
    func biasBackwardIsARunningSumInTokenOrder(shape: (Int, Int)) {
        let (T, N) = shape
        var r = TestRandom(38)
        let dout = r.floats(T * N)
        var fast = r.floats(N), slow = fast
        biasBackward(&fast, dout, T: T, N: N)
        for t in 0 ..< T { for n in 0 ..< N { slow[n] += dout[t * N + n] } }
        #expect(fast == slow)
        var out = r.floats(T * N)
        let bias = r.floats(N), before = out
        biasForward(&out, bias, T: T, N: N)
        #expect(out == (0 ..< T * N).map { before[$0] + bias[$0 % N] })
    }
}

@Suite struct ConvertedInputTests {
    /// Inputs converted beforehand (a weight kept across steps, a layer input shared by three projections) give
    /// the products of inputs converted at the call, bit for bit, forward and backward.
    @Test func preconvertedInputsGiveTheProductsConvertedAtTheCall() {
        let T = 37, IC = 19, OC = 23
        var r = TestRandom(39)
        let x = r.floats(T * IC), w = r.floats(OC * IC), bias = r.floats(OC), dout = r.floats(T * OC)
        let scratch = GEMMScratch(capacity: T * max(IC, OC))
        let kept = BF16Buffer(capacity: OC * IC + T * IC)
        let w16 = kept.matrix(offset: 0, count: OC * IC), x16 = kept.matrix(offset: OC * IC, count: T * IC)
        w16.convert(from: w)
        x16.convert(from: x)
        #expect((0 ..< OC * IC).allSatisfy { w16.value(at: $0) == floatFromBFloat16(bfloat16Bits(w[$0])) })

        var atCall = [Float](repeating: 0, count: T * OC), before = atCall
        matmulForward(&atCall, x, w, bias, T: T, IC: IC, OC: OC, precision: .bf16, scratch: scratch)
        matmulForward(&before, x, w, bias, T: T, IC: IC, OC: OC, precision: .bf16, scratch: scratch,
                      converted: ConvertedInputs(input: x16, weight: w16))
        #expect(atCall == before)

        var dx1 = r.floats(T * IC), dx2 = dx1, dw1 = r.floats(OC * IC), dw2 = dw1
        var db1 = [Float](repeating: 0, count: OC), db2 = db1
        matmulBackward(&dx1, &dw1, &db1, dout, x, w, T: T, IC: IC, OC: OC, accumulateInput: true,
                       precision: .bf16, scratch: scratch)
        matmulBackward(&dx2, &dw2, &db2, dout, x, w, T: T, IC: IC, OC: OC, accumulateInput: true,
                       precision: .bf16, scratch: scratch, converted: ConvertedInputs(input: x16, weight: w16))
        #expect(dx1 == dx2 && dw1 == dw2 && db1 == db2)
    }
}

@Suite struct BiasGELUKernelTests {
    /// The fused bias add and activation against the bias add then GELU, to the bit, in place and not; and its
    /// backward against GELU's backward then the bias gradient, to the bit (the same token order).
    @Test(arguments: [GELUForm.erf, .tanh, .relu], [(67, 37), (300, 1_537)])
    func fusedBiasAndGELUEqualTheirStepsOneAfterTheOther(form: GELUForm, shape: (Int, Int)) {
        let (T, N) = shape
        var r = TestRandom(40)
        let product = r.floats(T * N, scale: 4), bias = r.floats(N), dout = r.floats(T * N)

        var pre = product
        biasForward(&pre, bias, T: T, N: N)
        var act = [Float](repeating: 0, count: T * N)
        geluForward(&act, pre, count: T * N, form: form)

        var fusedPre = product, fusedAct = [Float](repeating: 0, count: T * N)
        biasGELUForward(&fusedAct, &fusedPre, bias, T: T, N: N, form: form)
        #expect(fusedPre == pre && fusedAct == act)
        var inPlace = product
        inPlace.withUnsafeMutableBufferPointer { p in
            biasGELUForward(p.baseAddress!, p.baseAddress!, bias, T: T, N: N, form: form)
        }
        #expect(inPlace == act)

        var dinp = [Float](repeating: 0, count: T * N), dbias = r.floats(N)
        var fusedDbias = dbias
        geluBackward(&dinp, dout, pre, count: T * N, form: form)
        biasBackward(&dbias, dinp, T: T, N: N)
        var fusedDinp = dout                                  // in place, as the model calls it
        fusedDinp.withUnsafeMutableBufferPointer { d in
            geluBiasBackward(d.baseAddress!, &fusedDbias, d.baseAddress!, pre, T: T, N: N, form: form)
        }
        #expect(fusedDinp == dinp && fusedDbias == dbias)
    }
}

@Suite struct BiasGELUToBF16Tests {
    /// The activation written straight into a BF16 product's input is the conversion of the single-precision
    /// activation, to the bit, in both input formats (oneDNN's bfloat16 and the emulation's rounded singles),
    /// keeping the single-precision outputs or not.
    @Test(arguments: [GELUForm.erf, .tanh, .relu], [(67, 37), (300, 1_537)])
    func bf16ActivationIsTheConversionOfTheSinglePrecisionOne(form: GELUForm, shape: (Int, Int)) {
        let (T, N) = shape
        var r = TestRandom(43)
        let product = r.floats(T * N, scale: 4), bias = r.floats(N)
        var pre = product, act = [Float](repeating: 0, count: T * N)
        biasGELUForward(&act, &pre, bias, T: T, N: N, form: form)
        for kernels in [BLAS.Kernels.oneDNN(isa: "bfloat16 format"), .emulatedBF16(reason: "rounded format")] {
            let expected = BF16Buffer(capacity: T * N, kernels: kernels).convert(act, count: T * N)
            let buffer = BF16Buffer(capacity: T * N, kernels: kernels)
            var keptPre = product, keptAct = [Float](repeating: 0, count: T * N)
            biasGELUForward(buffer.matrix(count: T * N), &keptAct, &keptPre, bias, T: T, N: N, form: form)
            #expect(keptPre == pre && keptAct == act, "\(kernels): the single-precision outputs are biasGELUForward's")
            #expect((0 ..< T * N).allSatisfy { buffer.matrix(count: T * N).value(at: $0) == expected.value(at: $0) },
                    "\(kernels), keeping the activation")
            let alone = BF16Buffer(capacity: T * N, kernels: kernels)
            var scratch = product
            biasGELUForward(alone.matrix(count: T * N), nil, &scratch, bias, T: T, N: N, form: form)
            #expect((0 ..< T * N).allSatisfy { alone.matrix(count: T * N).value(at: $0) == expected.value(at: $0) },
                    "\(kernels), writing only the BF16 activation")
        }
    }
}

@Suite struct SumOfSquaresTests {
    /// Tolerance: 1e-6 relative against Double (Float partial sums over blocks of 4,096), on counts off the blocks
    /// and the lanes, and over enough blocks to be split between cores.
    @Test(arguments: [1, 17, 4_097, 300_001, 1_000_003])
    func matchesDoubleReference(count: Int) {
        var r = TestRandom(41)
        let x = r.floats(count, scale: 3)
        let fast = sumOfSquares(x, count: count), reference = sumOfSquaresReference(x, count: count)
        #expect(abs(fast - reference) <= 1e-6 * reference, "\(fast) against \(reference)")
    }

    /// A [500, 384] matrix at an offset that no block boundary meets, zero but for four rows (the first, the last, two
    /// between, one of them across a block boundary): skipping its unmarked rows gives the dense sum's bits, and a
    /// value in an unmarked row goes unread.
    @Test func skippingUnmarkedRowsGivesTheDenseSumsBits() {
        var r = TestRandom(42)
        let count = 300_001, start = 10_001, width = 384, rows = 500
        var x = r.floats(count, scale: 3)
        for i in start ..< start + rows * width { x[i] = 0 }
        let touched = TouchedRows(rows: rows)
        for row in [0, 7, 251, 499] {
            touched.insert(row)
            for c in 0 ..< width { x[start + row * width + c] = r.floats(1, scale: 2)[0] }
        }
        #expect((start + 251 * width) / 4096 != (start + 252 * width - 1) / 4096, "row 251 crosses a block boundary")
        let sparse = SparseGradientRows(start: start, width: width, touched: touched)
        let dense = sumOfSquares(x, count: count)
        #expect(sumOfSquares(x, count: count, sparse: sparse).bitPattern == dense.bitPattern)
        x[start + 100 * width] = 1e3
        #expect(sumOfSquares(x, count: count, sparse: sparse).bitPattern == dense.bitPattern, "row 100 is not read")
        #expect(sumOfSquares(x, count: count) != dense)
    }
}

@Suite struct LayerNormToBF16Tests {
    /// The LayerNorm output written straight into a BF16 product's input is the conversion of the single-precision
    /// output, to the bit, in both input formats, with and without dropout; the single-precision outputs are those
    /// of the call without it.
    @Test(arguments: [false, true], [(67, 384), (5, 40)])
    func bf16OutputIsTheConversionOfTheSinglePrecisionOne(withDropout: Bool, shape: (Int, Int)) {
        let (T, C) = shape
        var r = TestRandom(44)
        let projection = r.floats(T * C, scale: 3), skip = r.floats(T * C), w = r.floats(C), b = r.floats(C)
        let dropout = withDropout ? DropoutMask(probability: 0.2, random: CounterRandom(key: 4), firstRow: 3) : nil
        var out = [Float](repeating: 0, count: T * C), mean = [Float](repeating: 0, count: T), rstd = mean
        var residual = projection
        residualLayerNormForward(&out, &mean, &rstd, &residual, projection, skip, w, b, T: T, C: C, eps: 1e-12,
                                 dropout: dropout)
        for kernels in [BLAS.Kernels.oneDNN(isa: "bfloat16 format"), .emulatedBF16(reason: "rounded format")] {
            let expected = BF16Buffer(capacity: T * C, kernels: kernels).convert(out, count: T * C)
            let buffer = BF16Buffer(capacity: T * C, kernels: kernels)
            var fusedOut = [Float](repeating: 0, count: T * C), fusedMean = mean, fusedRstd = rstd
            var fusedResidual = projection
            residualLayerNormForward(&fusedOut, &fusedMean, &fusedRstd, &fusedResidual, projection, skip, w, b, T: T, C: C,
                                     eps: 1e-12, dropout: dropout, converted: buffer.matrix(count: T * C))
            #expect(fusedOut == out && fusedMean == mean && fusedRstd == rstd && fusedResidual == residual, "\(kernels)")
            #expect((0 ..< T * C).allSatisfy { buffer.matrix(count: T * C).value(at: $0) == expected.value(at: $0) },
                    "\(kernels)")
        }
    }
}

@Suite struct GELUBackwardToBF16Tests {
    /// The activation's gradient written straight into the next BF16 products' dout is the conversion of the
    /// single-precision gradient, to the bit, in both input formats; the single-precision outputs (in place, as the
    /// model calls it) and the bias gradient are those of the call without it.
    @Test(arguments: [GELUForm.erf, .tanh, .relu], [(67, 37), (300, 1_537)])
    func bf16GradientIsTheConversionOfTheSinglePrecisionOne(form: GELUForm, shape: (Int, Int)) {
        let (T, N) = shape
        var r = TestRandom(45)
        let pre = r.floats(T * N, scale: 4), dout = r.floats(T * N), startBias = r.floats(N)
        var dinp = dout, dbias = startBias
        dinp.withUnsafeMutableBufferPointer { d in
            geluBiasBackward(d.baseAddress!, &dbias, d.baseAddress!, pre, T: T, N: N, form: form)
        }
        for kernels in [BLAS.Kernels.oneDNN(isa: "bfloat16 format"), .emulatedBF16(reason: "rounded format")] {
            let expected = BF16Buffer(capacity: T * N, kernels: kernels).convert(dinp, count: T * N)
            let buffer = BF16Buffer(capacity: T * N, kernels: kernels)
            var fused = dout, fusedBias = startBias
            fused.withUnsafeMutableBufferPointer { d in
                geluBiasBackward(d.baseAddress!, &fusedBias, d.baseAddress!, pre, T: T, N: N, form: form,
                                 converted: buffer.matrix(count: T * N))
            }
            #expect(fused == dinp && fusedBias == dbias, "\(kernels)")
            #expect((0 ..< T * N).allSatisfy { buffer.matrix(count: T * N).value(at: $0) == expected.value(at: $0) },
                    "\(kernels)")
        }
    }
}
