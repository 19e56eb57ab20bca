import Foundation
import CKernels
import Testing
@testable import Tensors

private let packedKernelRuns = bt_packed_sgemm_available() != 0
private let noPackedKernel = Comment(rawValue: "the processor (or BERT_TAGGER_MAX_CPU_ISA) gives no AVX2 and FMA")

/// The single-precision products of inference on weights laid out once (`PackedFP32Weights`, CKernels'
/// bt_packed_sgemm).
@Suite(.enabled(if: packedKernelRuns, noPackedKernel)) struct PackedFP32ProductTests {
    /// c = a · weightᵀ (+ bias) within 1e-5 of Σ|terms| of a Double reference, for every tile height (one to six
    /// rows and what is left over), widths below, at and across a panel of sixteen columns, depths of one and more,
    /// with and without a bias, and row counts that split rows (300) as well as panels over the threads.
    @Test(arguments: [1, 9, 16, 40], [1, 7, 64])
    func packedProductsMatchADoubleReference(n: Int, k: Int) throws {
        var r = TestRandom(UInt64(100 * n + k))
        let weight = r.floats(n * k), bias = r.floats(n)
        let packed = try #require(PackedFP32Weights(n: n, k: k, products: .packed))
        packed.pack(weight)
        for m in [1, 2, 3, 4, 5, 6, 7, 13, 300] {
            let a = r.floats(m * k)
            for withBias in [false, true] {
                var c = [Float](repeating: .nan, count: m * n)
                bias.withUnsafeBufferPointer { BLAS.sgemm(m: m, a: a, packed: packed, bias: withBias ? $0.baseAddress : nil, c: &c) }
                var worst = 0.0
                for i in 0 ..< m {
                    for j in 0 ..< n {
                        var sum = withBias ? Double(bias[j]) : 0, magnitude = abs(sum)
                        for p in 0 ..< k {
                            let term = Double(a[i * k + p]) * Double(weight[j * k + p])
                            sum += term
                            magnitude += abs(term)
                        }
                        worst = max(worst, abs(Double(c[i * n + j]) - sum) / magnitude)
                    }
                }
                #expect(worst <= 1e-5, "m \(m), n \(n), k \(k), bias \(withBias): error \(worst) of Σ|terms|")
            }
        }
    }

    /// Each output is the bias plus the products in order of depth, whatever the tile or thread that computes it:
    /// a row multiplied alone gives the bits it gets among 300 (rows split over the threads, tiles of six).
    @Test func aRowGivesTheSameBitsAloneAsInABatch() throws {
        let m = 300, n = 40, k = 384
        var r = TestRandom(7)
        let weight = r.floats(n * k), bias = r.floats(n), a = r.floats(m * k)
        let packed = try #require(PackedFP32Weights(n: n, k: k, products: .packed))
        packed.pack(weight)
        var batch = [Float](repeating: .nan, count: m * n)
        BLAS.sgemm(m: m, a: a, packed: packed, bias: bias, c: &batch)
        var differing = 0
        for i in 0 ..< m {
            var alone = [Float](repeating: .nan, count: n)
            a.withUnsafeBufferPointer { BLAS.sgemm(m: 1, a: $0.baseAddress! + i * k, packed: packed, bias: bias, c: &alone) }
            differing += zip(alone, batch[i * n ..< (i + 1) * n]).filter { $0.bitPattern != $1.bitPattern }.count
        }
        #expect(differing == 0, "\(differing) of \(m * n) outputs differ between the row alone and the batch")
    }

    /// A second `pack` replaces what the first laid out, and the forward through `matmulForward` reads the packed
    /// weight, not the pointer it is given.
    @Test func packingAgainReplacesTheWeightAndTheForwardReadsThePackedOne() throws {
        let T = 5, IC = 24, OC = 33
        var r = TestRandom(9)
        let first = r.floats(OC * IC), second = r.floats(OC * IC), bias = r.floats(OC), inp = r.floats(T * IC)
        let packed = try #require(PackedFP32Weights(n: OC, k: IC, products: .packed))
        for weight in [first, second] {
            packed.pack(weight)
            var ours = [Float](repeating: .nan, count: T * OC), reference = ours
            let unrelated = [Float](repeating: .nan, count: OC * IC)
            matmulForward(&ours, inp, unrelated, bias, T: T, IC: IC, OC: OC,
                          converted: ConvertedInputs(packedFP32Weight: packed))
            matmulForwardReference(&reference, inp, weight, bias, T: T, IC: IC, OC: OC)
            #expect(maxAbsDifference(ours, reference) < 1e-5, "largest difference \(maxAbsDifference(ours, reference))")
        }
    }
}

/// When inference multiplies in single precision on packed weights.
@Suite struct FP32InferenceChoiceTests {
    /// (the packed kernel runs, the single-precision library, asked for by hand, the choice)
    static let decisions: [(Bool, BLAS.Kernels, BLAS.FP32InferenceProducts?, BLAS.FP32InferenceProducts)] = [
        (true, .openBLAS, nil, .packed),                              // AVX2 processors: measured faster
        (true, .oneDNN(isa: "avx512_core_amx"), nil, .library),       // AVX-512: oneDNN's, not measured against it
        (false, .openBLAS, nil, .library),                            // no AVX2: the kernel does not run
        (true, .oneDNN(isa: "avx512_core"), .packed, .packed),        // asked for by hand
        (true, .openBLAS, .library, .library),
        (false, .openBLAS, .packed, .library),                        // asked for where it cannot run
    ]

    @Test(arguments: decisions)
    func inferenceUsesPackedWeightsWhereTheirKernelRunsAndWasMeasuredFaster(
        runs: Bool, fp32: BLAS.Kernels, asked: BLAS.FP32InferenceProducts?, expected: BLAS.FP32InferenceProducts) {
        #expect(BLAS.fp32InferenceChoice(packedKernelRuns: runs, fp32Kernels: fp32, asked: asked) == expected)
    }

    @Test func theChoiceByHandIsReadFromItsVariableInAnyCase() throws {
        #expect(try BLAS.fp32InferenceOverride(["BERT_TAGGER_FP32_INFERENCE": "Library"]) == .library)
        #expect(try BLAS.fp32InferenceOverride(["BERT_TAGGER_FP32_INFERENCE": "packed "]) == .packed)
        #expect(try BLAS.fp32InferenceOverride(["BERT_TAGGER_FP32_INFERENCE": ""]) == nil)
        #expect(try BLAS.fp32InferenceOverride([:]) == nil)
    }

    @Test func aValueThatNamesNoChoiceIsAnErrorNamingTheVariable() {
        do {
            _ = try BLAS.fp32InferenceOverride(["BERT_TAGGER_FP32_INFERENCE": "mkl"])
            Issue.record("BERT_TAGGER_FP32_INFERENCE=mkl was accepted")
        } catch {
            #expect(error.description == "BERT_TAGGER_FP32_INFERENCE=mkl names no way to run inference's "
                    + "single-precision products: use packed or library, or unset it")
        }
    }

    /// On the machine at hand (nothing set by hand): packed wherever the kernel runs beside OpenBLAS.
    @Test(.enabled(if: (try? BLAS.fp32InferenceOverride(ProcessInfo.processInfo.environment)) == .some(nil)))
    func thisMachineMultipliesInferenceOnPackedWeightsWhereTheKernelRunsBesideOpenBLAS() {
        let expected: BLAS.FP32InferenceProducts = packedKernelRuns && BLAS.fp32Kernels == .openBLAS ? .packed : .library
        #expect(BLAS.fp32InferenceProducts == expected)
        #expect((PackedFP32Weights(n: 4, k: 4) != nil) == (expected == .packed))
    }
}
