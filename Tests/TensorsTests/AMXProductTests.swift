import Foundation
import CKernels
import Testing
@testable import Tensors

private let noAMX = Comment(rawValue: "the AMX kernel does not run here (no AMX, or a cap below avx512_core_amx)")
private let noKernel = Comment(rawValue: "neither of the tool's BF16 kernels runs here (no AVX512-BF16 or AMX with oneDNN)")

/// BF16 products on the tool's kernels on the machine at hand: AMX tiles (CKernels' bt_amx_gemm) where they run,
/// else AVX512-BF16's dot products (bt_bf16_gemm), on the same panels.
@Suite(.enabled(if: BLAS.bf16KernelRuns, noKernel)) struct AMXProductTests {
    /// c = a · b (+ bias, or + c) within γ_k of Σ|terms| of a Double reference on the inputs rounded to bfloat16, for
    /// every form training uses (forward a · bᵀ, the input's gradient a · b, the weight's aᵀ · b; the forward's alone
    /// on AVX512-BF16, which declines the others), row counts below,
    /// at and past a tile and a block of 32 (edge tiles), widths below, at and across a panel and a pair of panels,
    /// and depths that are whole steps of 32 or, with the first input transposed, any, within and past one chunk
    /// of 512.
    @Test(arguments: [(BLAS.Transpose.none, BLAS.Transpose.transposed), (.none, .none), (.transposed, .none)])
    func amxProductsMatchADoubleReference(transA: BLAS.Transpose, transB: BLAS.Transpose) throws {
        var r = TestRandom(11)
        let depths = transA == .transposed ? [1, 17, 32, 45, 70, 530] : [32, 64, 384, 576]
        for k in depths {
            for n in [9, 16, 40, 64, 96] {
                for m in [1, 15, 16, 17, 33, 48, 70] {
                    for mode in ["zero", "accumulate", "bias"] {
                        let a = r.floats(m * k), b = r.floats(k * n), c0 = r.floats(m * n), bias = r.floats(n)
                        let lda = transA == .none ? k : m, ldb = transB == .none ? n : k
                        let a16 = a.map(bfloat16Bits), b16 = b.map(bfloat16Bits)
                        var c = c0
                        let ran = a16.withUnsafeBytes { ap in
                            b16.withUnsafeBytes { bp in
                                bias.withUnsafeBufferPointer { biasp in
                                    BLAS.gemmAMX(transA, transB, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, lda: lda,
                                                 b: bp.baseAddress!, ldb: ldb, beta: mode == "accumulate" ? 1 : 0,
                                                 bias: mode == "bias" ? biasp.baseAddress : nil, c: &c, ldc: n)
                                }
                            }
                        }
                        // On AVX512-BF16 alone the kernel takes the forward's form only, and leaves the rest to oneDNN.
                        guard BLAS.amxRuns || (transA == .none && transB == .transposed) else {
                            #expect(!ran && zip(c, c0).allSatisfy { $0.bitPattern == $1.bitPattern },
                                    "\(transA)/\(transB) ran on the AVX512-BF16 kernel")
                            continue
                        }
                        try #require(ran, "the kernel declined \(transA)/\(transB) m \(m) n \(n) k \(k)")
                        let u = 0x1p-24, gamma = Double(k + 1) * u / (1 - Double(k + 1) * u)
                        var worst = 0.0
                        for i in 0 ..< m {
                            for j in 0 ..< n {
                                var exact = mode == "accumulate" ? Double(c0[i * n + j]) : mode == "bias" ? Double(bias[j]) : 0
                                var magnitude = abs(exact)
                                for p in 0 ..< k {
                                    let x = floatFromBFloat16(transA == .none ? a16[i * lda + p] : a16[p * lda + i])
                                    let y = floatFromBFloat16(transB == .none ? b16[p * ldb + j] : b16[j * ldb + p])
                                    exact += Double(x) * Double(y)
                                    magnitude += abs(Double(x) * Double(y))
                                }
                                worst = max(worst, abs(Double(c[i * n + j]) - exact) / (gamma * magnitude + 1e-30))
                            }
                        }
                        #expect(worst <= 1, "\(transA)/\(transB) m \(m) n \(n) k \(k) \(mode): error \(worst) × γ bound")
                    }
                }
            }
        }
    }

    /// Forms the kernel does not take are left to oneDNN untouched: a scale other than one, a bias with
    /// accumulation, a first input read in place whose depth is not a whole step of 32.
    @Test func formsTheKernelDoesNotTakeAreDeclined() {
        var c = [Float](repeating: 7, count: 16 * 16)
        let a = [UInt16](repeating: 0x3F80, count: 16 * 64), b = a, bias = [Float](repeating: 1, count: 16)
        func run(alpha: Float, beta: Float, bias: UnsafePointer<Float>?, k: Int) -> Bool {
            a.withUnsafeBytes { ap in
                b.withUnsafeBytes { bp in
                    BLAS.gemmAMX(.none, .transposed, m: 16, n: 16, k: k, alpha: alpha, a: ap.baseAddress!, lda: k,
                                 b: bp.baseAddress!, ldb: k, beta: beta, bias: bias, c: &c, ldc: 16)
                }
            }
        }
        #expect(!run(alpha: 0.5, beta: 0, bias: nil, k: 32))
        bias.withUnsafeBufferPointer { #expect(!run(alpha: 1, beta: 1, bias: $0.baseAddress, k: 32)) }
        #expect(!run(alpha: 1, beta: 0, bias: nil, k: 48))
        #expect(c.allSatisfy { $0 == 7 }, "a declined product wrote its output")
        #expect(run(alpha: 1, beta: 0, bias: nil, k: 64))
        #expect(c.allSatisfy { $0 == 64 }, "sixty-four products of ones: \(Set(c))")
    }

    /// Threads split the output's columns in pairs of panels: the same product on one thread and on all gives the
    /// same bits (each output is summed by one tile in order of depth either way).
    @Test func theProductIsTheSameOnOneThreadAndOnAll() {
        let m = 200, n = 384, k = 384
        var r = TestRandom(12)
        let a = r.floats(m * k).map(bfloat16Bits), b = r.floats(n * k).map(bfloat16Bits)
        func product() -> [Float] {
            var c = [Float](repeating: .nan, count: m * n)
            _ = a.withUnsafeBytes { ap in
                b.withUnsafeBytes { bp in
                    BLAS.gemmAMX(.none, .transposed, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, lda: k,
                                 b: bp.baseAddress!, ldb: k, beta: 0, bias: nil, c: &c, ldc: n)
                }
            }
            return c
        }
        let threads = Parallel.threadCount
        let all = product()
        Parallel.setThreadCount(1)
        let one = product()
        Parallel.setThreadCount(threads)
        #expect(zip(all, one).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    /// A training weight laid out once in the kernel's panels gives the forward's output and the input gradient bit
    /// for bit as the products that lay the weight out at every call, with and without accumulating into the input
    /// gradient, on rows past a block of 32 and depths past a chunk.
    @Test(.enabled(if: BLAS.amxRuns, noAMX), arguments: [(384, 128), (64, 576)])
    func weightPanelsGiveTheBitsOfLayingTheWeightOutAtEachProduct(inputs IC: Int, outputs OC: Int) throws {
        let T = 70
        var r = TestRandom(13)
        let inp = r.floats(T * IC), weight = r.floats(OC * IC), bias = r.floats(OC), dout = r.floats(T * OC)
        let start = r.floats(T * IC)
        let buffer = BF16Buffer(capacity: T * IC + OC * IC + T * OC)
        let inp16 = buffer.matrix(count: T * IC), w16 = buffer.matrix(offset: T * IC, count: OC * IC)
        let dout16 = buffer.matrix(offset: T * IC + OC * IC, count: T * OC)
        inp16.convert(from: inp)
        w16.convert(from: weight)
        dout16.convert(from: dout)
        let forward = try #require(AMXPanels(outputs: OC, inputs: IC, product: .forward))
        let inputGradient = try #require(AMXPanels(outputs: OC, inputs: IC, product: .inputGradient))
        forward.pack(w16)
        inputGradient.pack(w16)
        let scratch = GEMMScratch(capacity: max(T * IC, OC * IC, T * OC))  // backward's, unused with all converted
        var out = [Float](repeating: .nan, count: T * OC), outPanels = out
        matmulForward(&out, inp, weight, bias, T: T, IC: IC, OC: OC, precision: .bf16,
                      converted: ConvertedInputs(input: inp16, weight: w16))
        matmulForward(&outPanels, inp, weight, bias, T: T, IC: IC, OC: OC, precision: .bf16,
                      converted: ConvertedInputs(input: inp16, weight: w16, weightPanels: forward))
        #expect(zip(out, outPanels).allSatisfy { $0.bitPattern == $1.bitPattern }, "forward \(IC) → \(OC)")
        for accumulate in [false, true] {
            var dinp = start, dinpPanels = start
            var dweight = [Float](repeating: 0, count: OC * IC), dweightPanels = dweight
            matmulBackward(&dinp, &dweight, nil, dout, inp, weight, T: T, IC: IC, OC: OC, accumulateInput: accumulate,
                           precision: .bf16, scratch: scratch,
                           converted: ConvertedInputs(input: inp16, weight: w16, outputGradient: dout16))
            matmulBackward(&dinpPanels, &dweightPanels, nil, dout, inp, weight, T: T, IC: IC, OC: OC,
                           accumulateInput: accumulate, precision: .bf16, scratch: scratch,
                           converted: ConvertedInputs(input: inp16, weight: w16, outputGradient: dout16,
                                                      weightPanels: inputGradient))
            #expect(zip(dinp, dinpPanels).allSatisfy { $0.bitPattern == $1.bitPattern },
                    "input gradient \(OC) → \(IC), accumulating: \(accumulate)")
            #expect(zip(dweight, dweightPanels).allSatisfy { $0.bitPattern == $1.bitPattern })
        }
    }
}

@Suite struct BF16ProductsChoiceTests {
    /// Training's products and inference's products on packed weights go to the kernel by default, unless asked
    /// otherwise; nothing goes to the kernel where it does not run.
    @Test func theKernelRunsWhereAMXDoesAsDefaultedOrAsked() {
        for byDefault in BLAS.BF16Products.allCases {
            #expect(BLAS.bf16ProductsChoice(amxRuns: true, asked: nil, byDefault: byDefault) == byDefault)
            #expect(BLAS.bf16ProductsChoice(amxRuns: false, asked: nil, byDefault: byDefault) == .onednn)
            for asked in BLAS.BF16Products.allCases {
                #expect(BLAS.bf16ProductsChoice(amxRuns: true, asked: asked, byDefault: byDefault) == asked)
                #expect(BLAS.bf16ProductsChoice(amxRuns: false, asked: asked, byDefault: byDefault) == .onednn)
            }
        }
    }

    @Test func theVariableTakesItsTwoNamesAndNothingElse() throws {
        #expect(try BLAS.bf16ProductsOverride([:]) == nil)
        #expect(try BLAS.bf16ProductsOverride([BLAS.bf16ProductsVariable: " "]) == nil)
        #expect(try BLAS.bf16ProductsOverride([BLAS.bf16ProductsVariable: "AMX"]) == .amx)
        #expect(try BLAS.bf16ProductsOverride([BLAS.bf16ProductsVariable: "onednn"]) == .onednn)
        let error = #expect(throws: KernelLibraryError.self) {
            try BLAS.bf16ProductsOverride([BLAS.bf16ProductsVariable: "mkl"])
        }
        #expect(error?.description
                == "BERT_TAGGER_BF16_PRODUCTS=mkl names no way to run BF16 products: use amx or onednn, or unset it")
    }

    /// On the machine at hand: wherever BF16 products run on oneDNN with AMX, the AMX kernel runs, and training's
    /// products and inference's products on packed weights go to it unless the variable asks for oneDNN; with
    /// AVX512-BF16 alone, the AVX512-BF16 kernel runs and takes the same unless asked, but of training's products
    /// only the forward's (the backward's stay on oneDNN, which measured faster there).
    @Test func bf16HardwareRunsTheToolsKernel() {
        let asked = try? BLAS.bf16ProductsOverride(ProcessInfo.processInfo.environment)
        let cpu = CPUFeatures.current
        if BLAS.bf16Kernels.isOneDNN && cpu.hasAMX {
            #expect(BLAS.amxRuns, "\(cpu.identity) has AMX but Linux did not grant the tiles")
            #expect(!BLAS.bf16DotRuns)
            #expect(BLAS.inferenceProducts == (asked == .onednn ? .onednn : .amx))
            #expect(BLAS.bf16Products == (asked == .onednn ? .onednn : .amx))
        } else if BLAS.bf16Kernels.isOneDNN && cpu.vectorLevel == .avx512 && cpu.has(.avx512_bf16) {
            #expect(!BLAS.amxRuns && BLAS.bf16DotRuns && BLAS.bf16KernelRuns)
            #expect(BLAS.inferenceProducts == (asked == .onednn ? .onednn : .amx))
            #expect(BLAS.bf16Products == (asked == .onednn ? .onednn : .amx))
            #expect(AMXPanels(outputs: 64, inputs: 64, product: .inputGradient) == nil)
        } else {
            #expect(!BLAS.amxRuns && !BLAS.bf16DotRuns)
            #expect(BLAS.inferenceProducts == .onednn && BLAS.bf16Products == .onednn)
        }
    }
}
