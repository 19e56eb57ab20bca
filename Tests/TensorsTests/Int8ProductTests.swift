import Foundation
import CKernels
import Testing
@testable import Tensors

private let noOneDNN = Comment(rawValue: "INT8 products need oneDNN with VNNI or AMX kernels (BLAS.int8Runs)")

/// Rows quantized to signed 8-bit integers on a scale per row (`bt_quantize_rows_s8`).
@Suite struct RowQuantizationTests {
    /// The kernel's values and scales equal the Swift reference's: rows shorter than a vector, of whole vectors
    /// and with a tail, a row of zeros, a row holding a NaN, and values that fall halfway between two steps (ties
    /// go to the even step).
    @Test(arguments: [1, 15, 16, 17, 384, 1_537])
    func quantizedRowsMatchTheReference(k: Int) {
        var r = TestRandom(UInt64(k))
        var x = r.floats(5 * k, scale: 3)
        for i in 0 ..< k { x[k + i] = 0 }                         // row 1: zeros
        x[2 * k + k / 2] = .nan                                   // row 2: a NaN
        x[3 * k] = 127                                            // row 3: scale 1, so halves are ties
        for i in 1 ..< k { x[3 * k + i] = Float(i % 7) - 3.5 }
        let rows = QuantizedRows(rows: 5, k: k)
        rows.quantize(x, rows: 5, k: k)
        let reference = x.withUnsafeBufferPointer { quantizeRowsReference($0.baseAddress!, rows: 5, k: k) }
        #expect(Array(rows.quantizedValues) == reference.values)
        #expect(Array(rows.rowScales) == reference.scales)
        #expect(rows.rowScales[1] == 0 && rows.quantizedValues[k ..< 2 * k].allSatisfy { $0 == 0 })
        if k > 4 { #expect(rows.quantizedValues[3 * k + 1] == -2 && rows.quantizedValues[3 * k + 4] == 0) }   // -2.5, 0.5
        #expect(rows.quantizedValues.allSatisfy { $0 >= -127 })
    }
}

/// Where INT8 products run: only where oneDNN's kernels have VNNI (on AVX2 alone its 8-bit sums saturate: the
/// exactness test below fails under `ONEDNN_MAX_CPU_ISA=AVX2`).
@Suite struct Int8ChoiceTests {
    @Test func int8RunsOnlyWhereOneDNNHasVNNI() {
        for isa in ["avx2_vnni", "avx512_core_vnni", "avx512_core_bf16", "avx512_core_amx"] {
            #expect(BLAS.int8Runs(oneDNNISA: isa), "\(isa)")
        }
        for isa in ["sse41", "avx", "avx2", "avx512_core", "avx512_mic", "other", "-"] {
            #expect(!BLAS.int8Runs(oneDNNISA: isa), "\(isa)")
        }
    }
}

/// INT8 products on oneDNN (`BLAS.gemmInt8`, `PackedInt8Weights`).
@Suite(.enabled(if: BLAS.int8Runs, noOneDNN)) struct Int8ProductTests {
    /// The products equal the integer reference bit for bit (the sums are exact, and the scaling is one fixed
    /// sequence of roundings): row counts below, at and across a block of 256 and a step of 32, one row alone,
    /// depths of the encoder's projections, with and without a bias.
    @Test(arguments: [(40, 64), (384, 384), (96, 1_536)])
    func productsMatchTheIntegerReferenceExactly(n: Int, k: Int) throws {
        var r = TestRandom(UInt64(n * 7 + k))
        let weight = r.floats(n * k), bias = r.floats(n)
        let packed = try #require(PackedInt8Weights(n: n, k: k))
        packed.pack(weight)
        let rows = QuantizedRows(rows: 600, k: k)
        for m in [1, 31, 32, 33, 256, 300, 513] {
            let a = r.floats(m * k, scale: 2)
            rows.quantize(a, rows: m, k: k)
            for withBias in [false, true] {
                var ours = [Float](repeating: .nan, count: m * n), reference = ours
                bias.withUnsafeBufferPointer { b in
                    BLAS.gemmInt8(m: m, a: rows, packed: packed, bias: withBias ? b.baseAddress : nil, c: &ours)
                    int8MatmulForwardReference(&reference, a, weight, withBias ? b.baseAddress : nil, T: m, IC: k, OC: n)
                }
                let differing = zip(ours, reference).filter { $0 != $1 }.count
                #expect(differing == 0, "m \(m), n \(n), k \(k), bias \(withBias): \(differing) outputs differ")
            }
        }
    }

    /// Against the exact product in Double, each output is off by no more than quantization allows: every term
    /// a·w moves by at most |a|·s_w/2 + |w'|·s_a/2 (each input rounded to half a step of its scale), plus single
    /// precision's rounding of the scaling (10⁻⁵ of Σ|terms|).
    @Test func productsStayWithinTheQuantizationBoundOfTheExactProduct() throws {
        let m = 70, n = 48, k = 384
        var r = TestRandom(11)
        let weight = r.floats(n * k, scale: 0.2), bias = r.floats(n), a = r.floats(m * k, scale: 4)
        let packed = try #require(PackedInt8Weights(n: n, k: k))
        packed.pack(weight)
        let rows = QuantizedRows(rows: m, k: k).quantize(a, rows: m, k: k)
        var ours = [Float](repeating: .nan, count: m * n)
        BLAS.gemmInt8(m: m, a: rows, packed: packed, bias: bias, c: &ours)
        var worst = 0.0
        for i in 0 ..< m {
            let sa = Double(a[i * k ..< (i + 1) * k].map(abs).max()!) / 127
            for j in 0 ..< n {
                let sw = Double(weight[j * k ..< (j + 1) * k].map(abs).max()!) / 127
                var exact = Double(bias[j]), bound = 0.0, magnitude = abs(exact)
                for p in 0 ..< k {
                    let x = Double(a[i * k + p]), w = Double(weight[j * k + p])
                    exact += x * w
                    magnitude += abs(x * w)
                    bound += abs(x) * sw / 2 + (abs(w) + sw / 2) * sa / 2
                }
                let error = abs(Double(ours[i * n + j]) - exact)
                #expect(error <= bound + 1e-5 * magnitude, "row \(i), column \(j): off by \(error), bound \(bound)")
                worst = max(worst, error / bound)
            }
        }
        #expect(worst > 0.01, "the products are closer to exact than quantization allows: were they quantized?")
    }

    /// A forward through `matmulForward` quantizes its input into the rows it is given, or reads rows quantized
    /// already, and reads the packed weight, not the pointer it is given; a second `pack` replaces the first.
    @Test func matmulForwardQuantizesItsInputAndReadsThePackedWeight() throws {
        let T = 45, IC = 64, OC = 33
        var r = TestRandom(5)
        let first = r.floats(OC * IC), second = r.floats(OC * IC), bias = r.floats(OC), inp = r.floats(T * IC)
        let packed = try #require(PackedInt8Weights(n: OC, k: IC))
        let rows = QuantizedRows(rows: T, k: IC)
        let unrelated = [Float](repeating: .nan, count: OC * IC)
        for weight in [first, second] {
            packed.pack(weight)
            var atTheCall = [Float](repeating: .nan, count: T * OC), beforehand = atTheCall, reference = atTheCall
            matmulForward(&atTheCall, inp, unrelated, bias, T: T, IC: IC, OC: OC, precision: .int8,
                          converted: ConvertedInputs(int8Weight: packed, quantizing: rows))
            let quantized = QuantizedRows(rows: T, k: IC).quantize(inp, rows: T, k: IC)
            matmulForward(&beforehand, inp, unrelated, bias, T: T, IC: IC, OC: OC, precision: .int8,
                          converted: ConvertedInputs(int8Weight: packed, quantizedInput: quantized))
            int8MatmulForwardReference(&reference, inp, weight, bias, T: T, IC: IC, OC: OC)
            #expect(atTheCall == reference)
            #expect(beforehand == reference)
        }
    }

    /// The epilogues that run on a block's rows while they are in cache give the bits of the kernels they stand
    /// for, run one after another over the whole matrix: GELU of the scaled sums quantized (the intermediate
    /// projection), and the residual LayerNorm of the scaled sums with its output quantized (an output projection).
    @Test func fusedEpiloguesGiveTheBitsOfTheKernelsOneAfterAnother() throws {
        let T = 300, C = 48, F = 80
        var r = TestRandom(21)
        let up = try #require(PackedInt8Weights(n: F, k: C)), down = try #require(PackedInt8Weights(n: C, k: F))
        let upWeight = r.floats(F * C), downWeight = r.floats(C * F), upBias = r.floats(F), downBias = r.floats(C)
        let lnWeight = r.floats(C), lnBias = r.floats(C), x = r.floats(T * C, scale: 3)
        up.pack(upWeight)
        down.pack(downWeight)
        let input = QuantizedRows(rows: T, k: F).quantize(x, rows: T, k: C)

        // GELU: the kernels one after another, then the fused rows.
        var act = [Float](repeating: .nan, count: T * F)
        BLAS.gemmInt8(m: T, a: input, packed: up, bias: upBias, c: &act)
        geluForward(&act, act, count: T * F, form: .erf)
        let separate = QuantizedRows(rows: T, k: F).quantize(act, rows: T, k: F)
        let fused = QuantizedRows(rows: T, k: F).shape(rows: T, k: F)
        BLAS.gemmInt8(m: T, a: input, packed: up) { rows, sums in
            up.geluRows(rows, sums: sums, of: input, bias: upBias, form: .erf, into: fused)
        }
        #expect(Array(fused.quantizedValues) == Array(separate.quantizedValues))
        #expect(Array(fused.rowScales) == Array(separate.rowScales))

        // Residual LayerNorm: the same, from the quantized activation.
        var residual = [Float](repeating: .nan, count: T * C), y = residual, mean = [Float](repeating: .nan, count: T)
        var rstd = mean
        BLAS.gemmInt8(m: T, a: separate, packed: down, bias: downBias, c: &residual)
        residualLayerNormForward(&y, &mean, &rstd, &residual, residual, x, lnWeight, lnBias, T: T, C: C, eps: 1e-12,
                                 dropout: nil)
        let separateOut = QuantizedRows(rows: T, k: C).quantize(y, rows: T, k: C)
        var fusedY = [Float](repeating: .nan, count: T * C), fusedMean = [Float](repeating: .nan, count: T)
        var fusedRstd = fusedMean
        let fusedOut = QuantizedRows(rows: T, k: C).shape(rows: T, k: C)
        fusedY.withUnsafeMutableBufferPointer { out in
            fusedMean.withUnsafeMutableBufferPointer { m in
                fusedRstd.withUnsafeMutableBufferPointer { s in
                    x.withUnsafeBufferPointer { skip in
                        BLAS.gemmInt8(m: T, a: separate, packed: down) { rows, sums in
                            let t = rows.lowerBound
                            down.residualLayerNormRows(rows, sums: sums, of: separate, bias: downBias,
                                                       skip: skip.baseAddress! + t * C, weight: lnWeight, lnBias: lnBias,
                                                       eps: 1e-12, out: out.baseAddress! + t * C,
                                                       mean: m.baseAddress! + t, rstd: s.baseAddress! + t,
                                                       quantizing: fusedOut)
                        }
                    }
                }
            }
        }
        #expect(fusedY.map(\.bitPattern) == y.map(\.bitPattern))
        #expect(fusedMean.map(\.bitPattern) == mean.map(\.bitPattern) && fusedRstd.map(\.bitPattern) == rstd.map(\.bitPattern))
        #expect(Array(fusedOut.quantizedValues) == Array(separateOut.quantizedValues))
        #expect(Array(fusedOut.rowScales) == Array(separateOut.rowScales))
    }

    /// Every count of rows left over after the whole blocks    /// Every count of rows left over after the whole blocks runs through a primitive for its multiple of 32 that
    /// reads the weights packed for the block (or the block's own, where oneDNN lays them out otherwise).
    @Test func leftoverRowsShareTheBlocksPackedWeights() throws {
        let packed = try #require(PackedInt8Weights(n: 64, k: 128))
        for rows in stride(from: BLAS.int8RowStep, through: BLAS.rowBlock, by: BLAS.int8RowStep) {
            let (matmul, multiplied) = packed.primitive(rows: rows)
            #expect(multiplied == rows || multiplied == BLAS.rowBlock)
            #expect(matmul.readsPackedWeights(like: packed.block))
        }
    }
}
