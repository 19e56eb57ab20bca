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
        let sums = (0 ..< 5).map { i in VNNIKernelTests.sum(reference.values[i * k ..< (i + 1) * k]) }
        #expect(Array(rows.rowSums) == sums)
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

/// Who multiplies INT8 products on each class of processor (`BLAS.int8ProductsChoice`).
@Suite struct Int8ProductsChoiceTests {
    static let cascadeLake = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 85, stepping: 7,
                                         instructionSets: Processors.avx512Sets)
    static let skylakeWithoutVNNI = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 85,
                                                instructionSets: Processors.avx512Sets.subtracting([.avx512_vnni]))

    /// The tool's kernel where AVX-512 has VNNI and no AMX tiles multiply 8-bit values; oneDNN on AMX, on AVX2
    /// (AVX-VNNI or none) and on AVX-512 without VNNI; a choice by hand is followed where the kernel runs.
    @Test func theToolsKernelRunsWhereAVX512HasVNNIAndNoAMX() {
        let cases: [(String, CPUFeatures, BLAS.Int8Products?, BLAS.Int8Products)] = [
            ("EPYC Genoa", Processors.epycGenoa, nil, .vnni),
            ("EPYC Genoa, oneDNN by hand", Processors.epycGenoa, .onednn, .onednn),
            ("Xeon Cascade Lake", Self.cascadeLake, nil, .vnni),
            ("Xeon Cooper Lake", Processors.xeonCooperLake, nil, .vnni),
            ("Xeon with AMX", Processors.xeonAMX, nil, .onednn),
            ("Xeon with AMX, the kernel by hand", Processors.xeonAMX, .vnni, .vnni),
            ("Xeon Skylake without VNNI", Self.skylakeWithoutVNNI, nil, .onednn),
            ("Xeon Skylake without VNNI, the kernel by hand", Self.skylakeWithoutVNNI, .vnni, .onednn),
            ("Intel laptop (AVX2)", Processors.intelLaptop, .vnni, .onednn),
            ("EPYC Milan (AVX2)", Processors.epycMilan, nil, .onednn),
        ]
        for (name, cpu, asked, expected) in cases {
            #expect(BLAS.int8ProductsChoice(cpu: cpu, asked: asked) == expected, "\(name)")
        }
    }

    @Test func aWayOfRunningINT8ProductsThatDoesNotExistIsAnErrorNamingTheVariable() throws {
        #expect(try BLAS.int8ProductsOverride(["BERT_TAGGER_INT8_PRODUCTS": " VNNI "]) == .vnni)
        #expect(try BLAS.int8ProductsOverride(["BERT_TAGGER_INT8_PRODUCTS": ""]) == nil)
        do {
            _ = try BLAS.int8ProductsOverride(["BERT_TAGGER_INT8_PRODUCTS": "amx"])
            Issue.record("BERT_TAGGER_INT8_PRODUCTS=amx was accepted")
        } catch {
            #expect(error.description == "BERT_TAGGER_INT8_PRODUCTS=amx names no way to run INT8 products: use vnni or onednn, or unset it")
        }
    }
}

/// The tool's INT8 kernel alone (`bt_vnni_gemm`), against sums in Int.
@Suite(.enabled(if: BLAS.vnniKernelRuns(on: .current), "the processor has no AVX-512 with VNNI"))
struct VNNIKernelTests {
    /// Sums of a · wᵀ for rows `lda` apart with bytes between them that must not be read, over panels
    /// `panels` (all when nil); the columns of other panels stay as they were (Int32.min). The kernel takes each
    /// row's sum of values from `rowSums`, by default the true sums of a's rows.
    static func kernelSums(_ a: [Int8], lda: Int, _ w: [Int8], m: Int, n: Int, k: Int, panels: Range<Int>? = nil,
                           rowSums: [Int32]? = nil) -> [Int32] {
        let packed = UnsafeMutableRawPointer.allocate(byteCount: bt_vnni_packed_bytes(k, n), alignment: 64)
        defer { packed.deallocate() }
        let bytes = packed.assumingMemoryBound(to: UInt8.self)
        w.withUnsafeBufferPointer { bt_vnni_pack(bytes, $0.baseAddress!, k, n) }
        var c = [Int32](repeating: .min, count: m * n)
        let all = 0 ..< (n + Int(BT_VNNI_PANEL) - 1) / Int(BT_VNNI_PANEL)
        let range = panels ?? all
        let sums = rowSums ?? (0 ..< m).map { i in sum(a[i * lda ..< i * lda + k]) }
        a.withUnsafeBufferPointer { a in
            sums.withUnsafeBufferPointer {
                bt_vnni_gemm(&c, n, a.baseAddress!, lda, bytes, m, n, k, range.lowerBound, range.upperBound,
                             $0.baseAddress!)
            }
        }
        return c
    }

    /// A row's sum of values.
    static func sum(_ row: ArraySlice<Int8>) -> Int32 {
        var total: Int32 = 0
        for value in row { total += Int32(value) }
        return total
    }

    /// Values from -127 to 127, as quantization makes them.
    static func bytes(_ count: Int, _ r: inout TestRandom) -> [Int8] {
        r.ints(count, below: 255).map { Int8($0 - 127) }
    }

    static func referenceSums(_ a: [Int8], lda: Int, _ w: [Int8], m: Int, n: Int, k: Int) -> [Int32] {
        var c = [Int32](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var sum = 0
                for p in 0 ..< k { sum += Int(a[i * lda + p]) * Int(w[j * k + p]) }
                c[i * n + j] = Int32(sum)
            }
        }
        return c
    }

    /// Exact sums for every count of rows in a tile and across the blocks of 64, depths with 0 to 3 values past a
    /// group of four, channels past a panel and a pair of panels; rows 5 bytes apart hold 127 between them, which
    /// would show in the sums if the kernel read past a row's k values.
    @Test(arguments: [(1, 1), (16, 4), (37, 383), (48, 385), (64, 386), (96, 1_536)])
    func sumsAreExactAndReadNothingPastARow(n: Int, k: Int) {
        var r = TestRandom(UInt64(n * 31 + k))
        let lda = k + 5
        for m in [1, 7, 8, 9, 63, 64, 65, 130] {
            var a = [Int8](repeating: 127, count: m * lda)
            let values = Self.bytes(m * k, &r)
            for i in 0 ..< m { for p in 0 ..< k { a[i * lda + p] = values[i * k + p] } }
            let w = Self.bytes(n * k, &r)
            let ours = Self.kernelSums(a, lda: lda, w, m: m, n: n, k: k)
            let reference = Self.referenceSums(a, lda: lda, w, m: m, n: n, k: k)
            let differing = zip(ours, reference).filter { $0 != $1 }.count
            #expect(differing == 0, "m \(m), n \(n), k \(k): \(differing) sums differ")
        }
    }

    /// Given row sums are what the kernel takes off (128 times each): one more in a row's sum takes 128 more off
    /// every sum of that row.
    @Test func theKernelTakesOffTheRowSumsItIsGiven() {
        let m = 9, n = 40, k = 70
        var r = TestRandom(5)
        let a = Self.bytes(m * k, &r), w = Self.bytes(n * k, &r)
        let rowSums = (0 ..< m).map { i in Self.sum(a[i * k ..< (i + 1) * k]) + Int32(i % 2) }
        let ours = Self.kernelSums(a, lda: k, w, m: m, n: n, k: k, rowSums: rowSums)
        let reference = Self.referenceSums(a, lda: k, w, m: m, n: n, k: k)
        for i in 0 ..< m {
            let expected = reference[i * n ..< (i + 1) * n].map { $0 - 128 * Int32(i % 2) }
            #expect(Array(ours[i * n ..< (i + 1) * n]) == expected, "row \(i)")
        }
    }

    /// The largest sums stay exact, of either sign: every value ±127, 4,096 deep (the encoder's depths go to 1,536
    /// in the default model), and 70,000 deep, where the sums with the weight's offset of 128 pass 2^31 (255 · 127 ·
    /// 70,000) while the true sums (127 · 127 · 70,000) fit in int32.
    @Test(arguments: [(9, 33, 4_096), (2, 17, 70_000)])
    func theLargestSumsStayExact(m: Int, n: Int, k: Int) {
        for (x, y) in [(Int8(127), Int8(127)), (-127, 127), (-127, -127)] {
            let a = [Int8](repeating: x, count: m * k), w = [Int8](repeating: y, count: n * k)
            let ours = Self.kernelSums(a, lda: k, w, m: m, n: n, k: k)
            #expect(ours.allSatisfy { $0 == Int32(x) * Int32(y) * Int32(k) }, "k \(k), \(x) · \(y): \(ours.first!)")
        }
    }

    /// A range of panels writes their columns and no others, so workers can share one product's panels.
    @Test func aRangeOfPanelsWritesOnlyItsColumns() {
        let m = 10, n = 80, k = 64
        var r = TestRandom(3)
        let a = Self.bytes(m * k, &r), w = Self.bytes(n * k, &r)
        let ours = Self.kernelSums(a, lda: k, w, m: m, n: n, k: k, panels: 1 ..< 4)
        let reference = Self.referenceSums(a, lda: k, w, m: m, n: n, k: k)
        for i in 0 ..< m {
            for j in 0 ..< n {
                let inside = (16 ..< 64).contains(j)
                #expect(ours[i * n + j] == (inside ? reference[i * n + j] : .min), "row \(i), column \(j)")
            }
        }
    }
}

/// INT8 products (`BLAS.gemmInt8`, `PackedInt8Weights`), on each way that runs here.
@Suite(.enabled(if: BLAS.int8Runs, noOneDNN)) struct Int8ProductTests {
    /// The ways of running INT8 products that run on this processor.
    static let productsHere = BLAS.Int8Products.allCases.filter { PackedInt8Weights(n: 16, k: 16, products: $0) != nil }

    /// The products equal the integer reference bit for bit (the sums are exact, and the scaling is one fixed
    /// sequence of roundings): row counts below, at and across a block of 256 and a step of 32, one row alone,
    /// depths of the encoder's projections and an odd one, with and without a bias, on each way that runs here.
    @Test(arguments: [(40, 64), (37, 383), (384, 384), (96, 1_536)])
    func productsMatchTheIntegerReferenceExactly(n: Int, k: Int) throws {
        for products in Self.productsHere {
            try productsMatchTheIntegerReferenceExactly(n: n, k: k, products: products)
        }
    }

    func productsMatchTheIntegerReferenceExactly(n: Int, k: Int, products: BLAS.Int8Products) throws {
        var r = TestRandom(UInt64(n * 7 + k))
        let weight = r.floats(n * k), bias = r.floats(n)
        let packed = try #require(PackedInt8Weights(n: n, k: k, products: products))
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
                #expect(differing == 0, "\(products): m \(m), n \(n), k \(k), bias \(withBias): \(differing) outputs differ")
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
    /// projection; the erf form by cubic pieces, the others as training runs them), and the residual LayerNorm of
    /// the scaled sums with its output quantized (an output projection).
    @Test(arguments: [GELUForm.erf, .tanh])
    func fusedEpiloguesGiveTheBitsOfTheKernelsOneAfterAnother(form: GELUForm) throws {
        let T = 300, C = 48, F = 83
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
        if form == .erf { geluPiecesForward(&act, act, count: T * F) } else { geluForward(&act, act, count: T * F, form: form) }
        let separate = QuantizedRows(rows: T, k: F).quantize(act, rows: T, k: F)
        let fused = QuantizedRows(rows: T, k: F).shape(rows: T, k: F)
        BLAS.gemmInt8(m: T, a: input, packed: up) { rows, sums in
            up.geluRows(rows, sums: sums, of: input, bias: upBias, form: form, into: fused)
        }
        #expect(Array(fused.quantizedValues) == Array(separate.quantizedValues))
        #expect(Array(fused.rowScales) == Array(separate.rowScales))
        #expect(Array(fused.rowSums) == Array(separate.rowSums))

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
        #expect(Array(fusedOut.rowSums) == Array(separateOut.rowSums))
        #expect(Array(fusedOut.rowScales) == Array(separateOut.rowScales))
    }

    /// Workers' shares of a product's rows: even splits, each moved on to the first sequence start at or past it
    /// (the rows' end past the last), so they cover every row once, in order, and no sequence is cut.
    @Test func sharesOfRowsBeginWhereSequencesDo() {
        let offsets: [Int32] = [0, 5, 40, 41, 100, 130, 130, 200]
        let cases: [(workers: Int, shares: [Range<Int>])] = [
            (1, [0 ..< 200]), (2, [0 ..< 100, 100 ..< 200]), (3, [0 ..< 100, 100 ..< 200, 200 ..< 200]),
            (4, [0 ..< 100, 100 ..< 100, 100 ..< 200, 200 ..< 200]),
            (5, [0 ..< 40, 40 ..< 100, 100 ..< 130, 130 ..< 200, 200 ..< 200]),
        ]
        offsets.withUnsafeBufferPointer { starts in
            for (workers, expected) in cases {
                let shares = (0 ..< workers).map { BLAS.share($0, of: workers, rows: 200, cutAt: starts) }
                #expect(shares == expected, "\(workers) workers")
            }
            let even = (0 ..< 3).map { BLAS.share($0, of: 3, rows: 200, cutAt: nil) }
            #expect(even == [0 ..< 66, 66 ..< 133, 133 ..< 200])
        }
    }

    /// A block of rows completes the sequences whose last row it holds: none where it ends inside one, an empty
    /// sequence with the one before it, and every sequence once over blocks that cover the rows.
    @Test func aBlockOfRowsCompletesTheSequencesWhoseLastRowItHolds() {
        let offsets: [Int32] = [0, 5, 40, 41, 41, 100]
        offsets.withUnsafeBufferPointer { offsets in
            func ending(_ rows: Range<Int>) -> Range<Int> { BLAS.sequences(ending: rows, offsets: offsets) }
            #expect(ending(0 ..< 5) == 0 ..< 1)
            #expect(ending(0 ..< 4) == 0 ..< 0)
            #expect(ending(4 ..< 39) == 0 ..< 1)
            #expect(ending(5 ..< 39) == 1 ..< 1)
            #expect(ending(39 ..< 41) == 1 ..< 4)
            #expect(ending(41 ..< 99) == 4 ..< 4)
            #expect(ending(64 ..< 100) == 4 ..< 5)
            #expect(ending(0 ..< 100) == 0 ..< 5)
            for block in [1, 7, 64] {
                let done = stride(from: 0, to: 100, by: block).map { ending($0 ..< min(100, $0 + block)) }
                #expect(done.flatMap { Array($0) } == Array(0 ..< 5), "blocks of \(block)")
            }
        }
    }

    /// A product over rows of whole sequences hands each sequence's rows to one worker, block after block in
    /// order, with the sums of the same product without sequences, every row once, and on no more workers than
    /// the limit: sequences of uneven lengths, an empty one and one longer than a block, on each way that runs here.
    @Test func aProductOverSequencesHandsEachSequenceToOneWorker() throws {
        let k = 64, n = 48
        let lengths = [7, 150, 0, 13, 3, 90, 21, 20, 1, 64, 130, 18]
        let offsets = lengths.reduce(into: [Int32(0)]) { $0.append($0.last! + Int32($1)) }
        let m = Int(offsets.last!)
        var r = TestRandom(41)
        let weight = r.floats(n * k), a = r.floats(m * k, scale: 2)
        let rows = QuantizedRows(rows: m, k: k).quantize(a, rows: m, k: k)
        for products in Self.productsHere {
            let packed = try #require(PackedInt8Weights(n: n, k: k, products: products))
            packed.pack(weight)
            var plain = [Int32](repeating: 0, count: m * n)
            BLAS.gemmInt8(m: m, a: rows, packed: packed) { block, sums in
                for i in 0 ..< block.count * n { plain[block.lowerBound * n + i] = sums[i] }
            }
            var bySequence = [Int32](repeating: -1, count: m * n)
            var calls: [(rows: Range<Int>, worker: Int?)] = []
            let lock = NSLock()
            offsets.withUnsafeBufferPointer { offsets in
                BLAS.gemmInt8(m: m, a: rows, packed: packed, sequenceOffsets: offsets, workerLimit: .max) { block, sums, worker in
                    lock.lock()
                    defer { lock.unlock() }
                    calls.append((block, worker))
                    for i in 0 ..< block.count * n { bySequence[block.lowerBound * n + i] = sums[i] }
                }
            }
            #expect(bySequence == plain, "\(products): the sums differ from the product's without sequences")
            let handed = calls.map(\.rows).sorted { $0.lowerBound < $1.lowerBound }
            #expect(handed.first?.lowerBound == 0 && handed.last?.upperBound == m
                    && zip(handed, handed.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty },
                    "\(products): rows handed as \(handed)")
            for b in lengths.indices where lengths[b] > 0 {
                let sequence = Int(offsets[b]) ..< Int(offsets[b + 1])
                let touching = calls.filter { $0.rows.overlaps(sequence) }
                #expect(Set(touching.map { $0.worker ?? -1 }).count == 1, "\(products): sequence \(b) by \(touching)")
                // One worker's calls come in the order of their rows.
                let order = calls.filter { $0.worker == touching.first?.worker }.map(\.rows.lowerBound)
                #expect(order == order.sorted(), "\(products): worker \(touching.first?.worker ?? -1) went \(order)")
            }
            if Parallel.threadCount > 1 {
                #expect(Set(calls.compactMap(\.worker)).count > 1, "\(products): one worker on \(Parallel.threadCount) threads")
            }
            // A limit of one worker: the same sums, from one worker (or every thread on each block).
            var limited = [Int32](repeating: -1, count: m * n)
            var limitedWorkers = Set<Int>()
            offsets.withUnsafeBufferPointer { offsets in
                BLAS.gemmInt8(m: m, a: rows, packed: packed, sequenceOffsets: offsets, workerLimit: 1) { block, sums, worker in
                    lock.lock()
                    defer { lock.unlock() }
                    limitedWorkers.insert(worker ?? -1)
                    for i in 0 ..< block.count * n { limited[block.lowerBound * n + i] = sums[i] }
                }
            }
            #expect(limited == plain, "\(products): the sums differ with one worker")
            #expect(limitedWorkers.isSubset(of: [-1, 0]) && limitedWorkers.count == 1,
                    "\(products): one worker at most ran as \(limitedWorkers)")
        }
    }

    /// Every count of rows left over after the whole blocks    /// Every count of rows left over after the whole blocks runs through a primitive for its multiple of 32 that
    /// reads the weights packed for the block (or the block's own, where oneDNN lays them out otherwise).
    @Test func leftoverRowsShareTheBlocksPackedWeights() throws {
        let packed = try #require(PackedInt8Weights(n: 64, k: 128, products: .onednn))
        for rows in stride(from: BLAS.int8RowStep, through: BLAS.rowBlock, by: BLAS.int8RowStep) {
            let (matmul, multiplied) = packed.primitive(rows: rows)
            #expect(multiplied == rows || multiplied == BLAS.rowBlock)
            #expect(matmul.readsPackedWeights(like: try #require(packed.block)))
        }
    }
}
