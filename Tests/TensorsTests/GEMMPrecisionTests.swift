import Foundation
import Testing
@testable import Tensors

@Suite struct BFloat16ConversionTests {
    /// Values that exercise every rounding rule: exact, below and above half, ties to even both ways, the
    /// largest finite values (which round to infinity past half an ulp), subnormals, zeros, infinities.
    static let edges: [Float] = [
        0, -0, 1, -1, 1.00390625 /* 1 + 2^-8: exact */, 1.001953125 /* 1 + 2^-9: tie, to even (1) */,
        1.005859375 /* 1 + 3·2^-9: tie, to even (1 + 2^-7) */, 1.0019531 /* just below the tie */,
        1.0019532 /* just above */, Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude,
        3.3895314e38 /* largest finite bfloat16 */, 3.3961775e38 /* halfway to 2^128: to infinity */,
        Float.leastNonzeroMagnitude, Float.leastNormalMagnitude, Float(bitPattern: 0x0001_2345), -Float(bitPattern: 0x0001_8000), .infinity, -.infinity,
    ]

    @Test func scalarAndVectorConversionsRoundToNearestEven() {
        var r = TestRandom(11)
        var values = Self.edges + r.floats(10_000, scale: 100)
        values += (0 ..< 10_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: r.rng.next())) }
        values = values.filter { !$0.isNaN }
        var vector = [UInt16](repeating: 0, count: values.count)
        convertToBFloat16(&vector, values, count: values.count)
        for (i, x) in values.enumerated() {
            let expected = bfloat16Reference(x)
            #expect(bfloat16Bits(x) == expected, "scalar bfloat16(\(x)) = \(bfloat16Bits(x)), nearest is \(expected)")
            #expect(vector[i] == expected, "vector bfloat16(\(x)) = \(vector[i]), nearest is \(expected)")
        }
        #expect(bfloat16Bits(3.3961775e38) == 0x7F80, "past half an ulp above the largest finite value is infinity")
    }

    @Test func nanStaysNaNInEveryLane() {
        let nans = [Float.nan, -Float.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFFF_FFFF)]
        let values = nans + [Float](repeating: 2, count: 12) + nans   // both in the vector loop and the tail
        var out = [UInt16](repeating: 0, count: values.count)
        convertToBFloat16(&out, values, count: values.count)
        for (i, x) in values.enumerated() {
            #expect(floatFromBFloat16(out[i]).isNaN == x.isNaN, "lane \(i): \(x) became \(out[i])")
            #expect(floatFromBFloat16(bfloat16Bits(x)).isNaN == x.isNaN)
        }
    }
}

@Suite struct GEMMPrecisionTests {
    /// The BF16 kernels to check on this machine: the emulation always, oneDNN's where it runs.
    static var kernels: [BLAS.Kernels] {
        var list: [BLAS.Kernels] = [.emulatedBF16(reason: "test")]
        if case .oneDNN = BLAS.bf16Kernels { list.append(BLAS.bf16Kernels) }
        return list
    }

    /// Reference: inputs rounded to bfloat16, products summed in Double. Any single-precision summation of the
    /// same exact products stays within γ_k = k·u / (1 - k·u) of Σ|a||b| (u = 2^-24), whatever the order, so
    /// that is the tolerance; the result without rounding the inputs misses it by orders of magnitude.
    @Test(arguments: kernels)
    func bf16ProductsAreExactProductsOfRoundedInputsForEveryTransposeAndScale(kernels: BLAS.Kernels) throws {
        var r = TestRandom(5)
        for (m, n, k) in [(37, 29, 384), (64, 48, 17), (70, 24, 1536), (11, 64, 64), (11, 96, 64), (64, 64, 11)] {
            for (transA, transB) in [(BLAS.Transpose.none, BLAS.Transpose.transposed), (.none, .none), (.transposed, .none)] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.125, 1)] {
                    let a = r.floats(m * k), b = r.floats(k * n), c0 = r.floats(m * n)
                    let lda = transA == .none ? k : m, ldb = transB == .none ? n : k
                    var c = c0
                    let scratch = GEMMScratch(capacity: max(m * k, k * n), kernels: kernels)
                    BLAS.gemm(.bf16, transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                              beta: beta, c: &c, ldc: n, scratch: scratch, bf16Kernels: kernels)
                    let u = 0x1p-24, gamma = Double(k) * u / (1 - Double(k) * u)
                    var worst = 0.0, unroundedMiss = 0.0
                    for i in 0 ..< m {
                        for j in 0 ..< n {
                            var exact = 0.0, magnitude = 0.0, unrounded = 0.0
                            for p in 0 ..< k {
                                let x = transA == .none ? a[i * lda + p] : a[p * lda + i]
                                let y = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                                let product = Double(floatFromBFloat16(bfloat16Bits(x))) * Double(floatFromBFloat16(bfloat16Bits(y)))
                                exact += product
                                magnitude += abs(product)
                                unrounded += Double(x) * Double(y)
                            }
                            let reference = Double(alpha) * exact + Double(beta) * Double(c0[i * n + j])
                            let bound = gamma * (Double(abs(alpha)) * magnitude + abs(Double(beta) * Double(c0[i * n + j])))
                                + 1e-30
                            worst = max(worst, abs(Double(c[i * n + j]) - reference) / bound)
                            unroundedMiss = max(unroundedMiss, abs(Double(alpha) * (unrounded - exact)) / bound)
                        }
                    }
                    #expect(worst <= 1, "\(kernels) m \(m) n \(n) k \(k) \(transA)/\(transB) α \(alpha) β \(beta): error \(worst) × γ_k bound")
                    #expect(unroundedMiss > 2, "inputs not rounded to bfloat16 would pass too: \(unroundedMiss)")
                }
            }
        }
    }

    @Test func fp32ProductsThroughGemmAreSgemm() {
        var r = TestRandom(6)
        let m = 33, n = 20, k = 50
        let a = r.floats(m * k), b = r.floats(n * k)
        var viaGemm = [Float](repeating: 0, count: m * n), viaSgemm = viaGemm
        BLAS.gemm(.fp32, .none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, beta: 0, c: &viaGemm,
                  ldc: n, scratch: nil)
        BLAS.sgemm(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, beta: 0, c: &viaSgemm, ldc: n)
        #expect(viaGemm == viaSgemm)
    }

    /// Products made on parallel workers run on each calling thread alone and give the sequential results.
    @Test func callingThreadOnlyProductsFromConcurrentWorkersMatchSequentialOnes() {
        var r = TestRandom(7)
        let items = 16, n = 96, hs = 32, C = 4 * hs
        let q = r.floats(items * n * C), k = r.floats(items * n * C)
        var parallel = [Float](repeating: 0, count: items * n * n), sequential = parallel
        for item in 0 ..< items {
            BLAS.sgemm(.none, .transposed, m: n, n: n, k: hs, a: q.withUnsafeBufferPointer { $0.baseAddress! + item * n * C },
                       lda: C, b: k.withUnsafeBufferPointer { $0.baseAddress! + item * n * C }, ldb: C, beta: 0,
                       c: sequential.withUnsafeMutableBufferPointer { $0.baseAddress! + item * n * n }, ldc: n)
        }
        q.withUnsafeBufferPointer { qp in
            k.withUnsafeBufferPointer { kp in
                parallel.withUnsafeMutableBufferPointer { out in
                    let base = out.baseAddress!
                    DispatchQueue.concurrentPerform(iterations: items) { item in
                        BLAS.sgemm(.none, .transposed, m: n, n: n, k: hs, a: qp.baseAddress! + item * n * C, lda: C,
                                   b: kp.baseAddress! + item * n * C, ldb: C, beta: 0, c: base + item * n * n, ldc: n,
                                   callingThreadOnly: true)
                    }
                }
            }
        }
        #expect(maxAbsDifference(parallel, sequential) < 1e-5, "largest difference \(maxAbsDifference(parallel, sequential))")
    }

    /// On the machine at hand: a processor with AMX multiplies BF16 with it (oneDNN, which the setup installs),
    /// never in emulation; so does an AMD processor with AVX512-BF16, on oneDNN's AVX512-BF16 kernels; an Intel one
    /// with AVX512-BF16 alone runs the emulation, which measured faster there.
    @Test(.disabled(if: ProcessInfo.processInfo.environment[BLAS.bf16Variable].map { !$0.isEmpty } ?? false,
                    "BERT_TAGGER_BF16_GEMM names the BF16 library by hand"))
    func bf16HardwareRunsBF16Kernels() {
        #if !canImport(Accelerate)
        if CPUFeatures.current.hasAMX {
            guard case .oneDNN(let isa) = BLAS.bf16Kernels else {
                Issue.record("\(CPUFeatures.current.identity) has AMX but BF16 products are \(BLAS.bf16Kernels)")
                return
            }
            #expect(isa.contains("amx"), "oneDNN targets \(isa)")
        } else if CPUFeatures.current.hasBF16 && CPUFeatures.current.isAMD {
            guard case .oneDNN(let isa) = BLAS.bf16Kernels else {
                Issue.record("\(CPUFeatures.current.identity) has AVX512-BF16 but BF16 products are \(BLAS.bf16Kernels)")
                return
            }
            #expect(isa.contains("bf16"), "oneDNN targets \(isa)")
        } else if CPUFeatures.current.hasBF16 {
            #expect(BLAS.bf16Kernels.isEmulated)
        } else {
            #expect(BLAS.bf16Kernels == .emulatedBF16(reason: "the CPU has no BF16 instructions"))
        }
        #endif
    }
}

extension BLAS.Kernels: CustomTestStringConvertible {
    public var testDescription: String {
        switch self {
        case .oneDNN(let isa): return "oneDNN \(isa)"
        case .emulatedBF16: return "emulated"
        case .openBLAS: return "OpenBLAS"
        case .accelerate: return "Accelerate"
        }
    }
}
