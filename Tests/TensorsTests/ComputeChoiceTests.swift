import Foundation
import Testing
@testable import Tensors

/// The library and precision chosen for each class of processor, as the README's figures per (emulated)
/// instruction set justify them.
@Suite struct LibraryChoiceTests {
    /// (processor, oneDNN's instruction set on it or nil when oneDNN is absent, fp32 kernels, bf16 kernels,
    /// precision `auto` picks)
    static let decisions: [(String, CPUFeatures, String?, BLAS.Kernels, BLAS.Kernels, GEMMPrecision)] = [
        ("Xeon with AMX", Processors.xeonAMX, "avx512_core_amx",
         .oneDNN(isa: "avx512_core_amx"), .oneDNN(isa: "avx512_core_amx"), .bf16),
        ("Xeon Cooper Lake (AVX512-BF16, no AMX)", Processors.xeonCooperLake, "avx512_core_bf16",
         .oneDNN(isa: "avx512_core_bf16"), .emulatedBF16(reason: noAMX), .fp32),
        ("Xeon Skylake (AVX-512, no BF16)", Processors.xeonSkylake, "avx512_core",
         .oneDNN(isa: "avx512_core"), .emulatedBF16(reason: "the CPU has no BF16 instructions"), .fp32),
        ("EPYC Genoa (AVX-512 with BF16)", Processors.epycGenoa, "avx512_core_bf16",
         .oneDNN(isa: "avx512_core_bf16"), .oneDNN(isa: "avx512_core_bf16"), .bf16),
        ("EPYC Genoa, no oneDNN", Processors.epycGenoa, nil,
         .openBLAS, .emulatedBF16(reason: "no oneDNN"), .fp32),
        ("Intel laptop (AVX2)", Processors.intelLaptop, "avx2",
         .openBLAS, .emulatedBF16(reason: "the CPU has no BF16 instructions"), .fp32),
        ("EPYC Milan (AVX2)", Processors.epycMilan, "avx2",
         .openBLAS, .emulatedBF16(reason: "the CPU has no BF16 instructions"), .fp32),
        ("SSE only", Processors.sseOnly, "sse41",
         .openBLAS, .emulatedBF16(reason: "the CPU has no BF16 instructions"), .fp32),
        ("Xeon with AMX, no oneDNN", Processors.xeonAMX, nil,
         .openBLAS, .emulatedBF16(reason: "no oneDNN"), .fp32),
    ]
    static let noAMX = "Intel's AVX512-BF16 without AMX: oneDNN's BF16 products measured slower than this"

    @Test(arguments: decisions)
    func eachProcessorGetsTheLibrariesItsFiguresChose(name: String, cpu: CPUFeatures, isa: String?,
                                                      fp32: BLAS.Kernels, bf16: BLAS.Kernels, auto: GEMMPrecision) {
        let oneDNN: Result<String, KernelLibraryError> = isa.map { .success($0) }
            ?? .failure(KernelLibraryError(description: "no oneDNN"))
        #expect(BLAS.fp32Choice(cpu: cpu, oneDNNISA: isa, asked: nil) == fp32, "\(name)")
        let bf16Kernels = BLAS.bf16Choice(cpu: cpu, oneDNN: oneDNN)
        #expect(bf16Kernels == bf16, "\(name)")
        #expect(PrecisionChoice.auto.resolved(cpu: cpu, bf16Kernels: bf16Kernels) == auto, "\(name)")
        // Asked for by name, a precision is what it says on every processor.
        #expect(PrecisionChoice.fp32.resolved(cpu: cpu, bf16Kernels: bf16Kernels) == .fp32)
        #expect(PrecisionChoice.bf16.resolved(cpu: cpu, bf16Kernels: bf16Kernels) == .bf16)
    }

    @Test func theSinglePrecisionLibraryNamedByHandIsRespectedWhereItExists() throws {
        #expect(BLAS.fp32Choice(cpu: Processors.epycMilan, oneDNNISA: "avx2", asked: .onednn) == .oneDNN(isa: "avx2"))
        #expect(BLAS.fp32Choice(cpu: Processors.xeonAMX, oneDNNISA: "avx512_core_amx", asked: .openblas) == .openBLAS)
        // oneDNN asked for where it is absent: OpenBLAS, which always loads.
        #expect(BLAS.fp32Choice(cpu: Processors.xeonAMX, oneDNNISA: nil, asked: .onednn) == .openBLAS)
        #expect(try BLAS.fp32Override(["BERT_TAGGER_FP32_GEMM": "OneDNN"]) == .onednn)
        #expect(try BLAS.fp32Override(["BERT_TAGGER_FP32_GEMM": " "]) == nil)
    }

    /// An OpenBLAS that ignores the core the tool names (built for one target) and runs narrower kernels than the
    /// processor's hands single-precision products to oneDNN where it is present, unless OpenBLAS is asked for by
    /// hand; AVX-512 processors run them on oneDNN either way.
    @Test func narrowerOpenBLASKernelsThanTheProcessorsHandSinglePrecisionToOneDNN() {
        let cases: [(String, CPUFeatures, String?, BLAS.FP32Library?, Bool, BLAS.Kernels)] = [
            ("EPYC Milan, OpenBLAS below", Processors.epycMilan, "avx2", nil, true, .oneDNN(isa: "avx2")),
            ("EPYC Milan, OpenBLAS full", Processors.epycMilan, "avx2", nil, false, .openBLAS),
            ("Intel laptop, OpenBLAS below", Processors.intelLaptop, "avx2", nil, true, .oneDNN(isa: "avx2")),
            ("EPYC Milan, OpenBLAS below, no oneDNN", Processors.epycMilan, nil, nil, true, .openBLAS),
            ("EPYC Milan, OpenBLAS below, OpenBLAS by hand", Processors.epycMilan, "avx2", .openblas, true, .openBLAS),
            ("Xeon with AMX, OpenBLAS below", Processors.xeonAMX, "avx512_core_amx", nil, true,
             .oneDNN(isa: "avx512_core_amx")),
        ]
        for (name, cpu, isa, asked, below, expected) in cases {
            #expect(BLAS.fp32Choice(cpu: cpu, oneDNNISA: isa, asked: asked, openBLASBelowCPU: below) == expected,
                    "\(name)")
        }
    }

    @Test func theBF16LibraryNamedByHandIsRespectedWhereTheCPUHasBF16() throws {
        let isa: Result<String, KernelLibraryError> = .success("avx512_core_bf16")
        #expect(BLAS.bf16Choice(cpu: Processors.xeonCooperLake, oneDNN: isa, asked: .onednn) == .oneDNN(isa: "avx512_core_bf16"))
        #expect(BLAS.bf16Choice(cpu: Processors.epycGenoa, oneDNN: isa, asked: .emulated)
                == .emulatedBF16(reason: "BERT_TAGGER_BF16_GEMM=emulated set by hand"))
        #expect(BLAS.bf16Choice(cpu: Processors.xeonAMX, oneDNN: .success("avx512_core_amx"), asked: .emulated).isEmulated)
        // oneDNN asked for where the CPU has no BF16 instructions, or where oneDNN is absent: the emulation.
        #expect(BLAS.bf16Choice(cpu: Processors.epycMilan, oneDNN: .success("avx2"), asked: .onednn)
                == .emulatedBF16(reason: "the CPU has no BF16 instructions"))
        #expect(BLAS.bf16Choice(cpu: Processors.epycGenoa, oneDNN: .failure(KernelLibraryError(description: "no oneDNN")),
                                asked: .onednn) == .emulatedBF16(reason: "no oneDNN"))
        // `auto` follows the processor, not the library named by hand: Intel's AVX512-BF16 alone stays FP32.
        let asked = BLAS.bf16Choice(cpu: Processors.xeonCooperLake, oneDNN: isa, asked: .onednn)
        #expect(PrecisionChoice.auto.resolved(cpu: Processors.xeonCooperLake, bf16Kernels: asked) == .fp32)
        #expect(try BLAS.bf16Override(["BERT_TAGGER_BF16_GEMM": "Emulated"]) == .emulated)
        #expect(try BLAS.bf16Override(["BERT_TAGGER_BF16_GEMM": ""]) == nil)
    }

    @Test func aBF16LibraryThatDoesNotExistIsAnErrorNamingTheVariable() {
        do {
            _ = try BLAS.bf16Override(["BERT_TAGGER_BF16_GEMM": "mkl"])
            Issue.record("BERT_TAGGER_BF16_GEMM=mkl was accepted")
        } catch {
            #expect(error.description == "BERT_TAGGER_BF16_GEMM=mkl names no BF16 library: use onednn or emulated, or unset it")
        }
    }

    @Test func aSinglePrecisionLibraryThatDoesNotExistIsAnErrorNamingTheVariable() {
        do {
            _ = try BLAS.fp32Override(["BERT_TAGGER_FP32_GEMM": "mkl"])
            Issue.record("BERT_TAGGER_FP32_GEMM=mkl was accepted")
        } catch {
            #expect(error.description == "BERT_TAGGER_FP32_GEMM=mkl names no single-precision library: use openblas or onednn, or unset it")
        }
    }
}

@Suite struct InstructionSetCapTests {
    /// (cap, processor, the vector level and BF16/AMX it is then treated as having)
    static let caps: [(InstructionSetCap, CPUFeatures, VectorLevel, Bool, Bool)] = [
        (.avx2, Processors.xeonAMX, .avx2, false, false),
        (.avx512_core, Processors.xeonAMX, .avx512, false, false),
        (.avx512_core_vnni, Processors.xeonAMX, .avx512, false, false),
        (.avx512_core_bf16, Processors.xeonAMX, .avx512, true, false),
        (.avx512_core_amx, Processors.xeonAMX, .avx512, true, true),
        (.sse41, Processors.xeonAMX, .sse3, false, false),
        // A cap above the processor adds nothing.
        (.avx512_core_amx, Processors.epycMilan, .avx2, false, false),
        (.avx512_core, Processors.intelLaptop, .avx2, false, false),
    ]

    @Test(arguments: caps)
    func aCapRemovesWhatIsAboveItAndAddsNothing(cap: InstructionSetCap, cpu: CPUFeatures, level: VectorLevel,
                                                bf16: Bool, amx: Bool) {
        let capped = cpu.capped(by: cap)
        #expect(capped.vectorLevel == level)
        #expect(capped.hasBF16 == bf16)
        #expect(capped.hasAMX == amx)
        #expect(capped.instructionSets.isSubset(of: cpu.instructionSets))
        #expect(capped.vendor == cpu.vendor && capped.model == cpu.model)
        // OpenBLAS's kernels follow the capped processor.
        #expect(OpenBLASKernels.vectorLevel(ofCore: OpenBLASKernels.core(for: capped)) == max(level, .sse3))
    }

    @Test func theCapIsReadFromItsVariableInAnyCase() throws {
        #expect(try InstructionSetCap.fromEnvironment([:]) == nil)
        #expect(try InstructionSetCap.fromEnvironment(["BERT_TAGGER_MAX_CPU_ISA": ""]) == nil)
        #expect(try InstructionSetCap.fromEnvironment(["BERT_TAGGER_MAX_CPU_ISA": "AVX2"]) == .avx2)
        #expect(try InstructionSetCap.fromEnvironment(["BERT_TAGGER_MAX_CPU_ISA": "avx512_core_bf16"]) == .avx512_core_bf16)
    }

    @Test func aValueThatIsNoCapIsAnErrorListingTheCaps() {
        do {
            _ = try InstructionSetCap.fromEnvironment(["BERT_TAGGER_MAX_CPU_ISA": "avx3"])
            Issue.record("BERT_TAGGER_MAX_CPU_ISA=avx3 was accepted")
        } catch {
            #expect(error.description == "BERT_TAGGER_MAX_CPU_ISA=avx3 is not an instruction-set cap: use one of sse41, "
                    + "avx, avx2, avx512_core, avx512_core_vnni, avx512_core_bf16, avx512_core_amx, or unset it")
        }
    }

    /// The element-wise kernels read the same variable in C: for every cap, they pick the variant the capped
    /// processor's instruction sets give.
    @Test(arguments: InstructionSetCap.allCases)
    func theElementwiseKernelsFollowTheSameCap(cap: InstructionSetCap) {
        for cpu in [Processors.xeonAMX, Processors.epycMilan, Processors.sseOnly] {
            let detected = ElementwiseVariant.widest(for: cpu)
            #expect(ElementwiseVariant.chosen(detected: detected, cap: cap.rawValue)
                    == ElementwiseVariant.widest(for: cpu.capped(by: cap)), "\(cap) on \(cpu.identity)")
            #expect(ElementwiseVariant.chosen(detected: detected, cap: cap.rawValue.uppercased())
                    == ElementwiseVariant.widest(for: cpu.capped(by: cap)))
        }
        #expect(ElementwiseVariant.chosen(detected: .avx512, cap: nil) == .avx512)
        #expect(ElementwiseVariant.chosen(detected: .avx2, cap: "") == .avx2)
    }

    /// On the machine at hand: the element-wise kernels run the variant of the processor as the tool treats it.
    @Test func theElementwiseVariantInUseIsTheWidestOfThisProcessor() {
        #expect(ElementwiseVariant.current == ElementwiseVariant.widest(for: .current),
                "\(ElementwiseVariant.current) kernels on [\(CPUFeatures.current.summary)]")
    }
}

#if !canImport(Accelerate)
@Suite(.serialized) struct PrimitiveCacheTests {
    @Test func theCacheHoldsAtMostItsCapacityAndDropsTheLeastRecentlyUsed() {
        var cache = PrimitiveCache<Int, String>(capacity: 3)
        var made: [Int] = []
        func get(_ key: Int) -> String { cache.value(for: key) { made.append(key); return "v\(key)" } }
        #expect(get(1) == "v1" && get(2) == "v2" && get(3) == "v3")
        #expect(get(1) == "v1")                  // 1 is now the most recent; 2 the least
        #expect(get(4) == "v4")                  // drops 2
        #expect(cache.count == 3)
        #expect(!cache.contains(2) && cache.contains(1) && cache.contains(3) && cache.contains(4))
        #expect(get(2) == "v2")                  // made again, drops 3
        #expect(!cache.contains(3))
        #expect(made == [1, 2, 3, 4, 2])
        let statistics = cache.statistics
        #expect(statistics.hits == 1 && statistics.misses == 5 && statistics.evictions == 2)
        #expect(statistics.makingSeconds >= 0)
        #expect(abs(cache.statistics.hitRate - 1.0 / 6.0) < 1e-12)
    }

    /// oneDNN, when loaded (nil: absent).
    static var oneDNN: OneDNNLibrary? {
        if case .success(let dnnl) = OneDNNLibrary.shared { return dnnl }
        return nil
    }

    /// oneDNN would keep its own copy of every primitive (up to 1024), which destroying ours does not free.
    @Test(.enabled(if: oneDNN != nil, "oneDNN is not installed"),
          .disabled(if: ["ONEDNN_PRIMITIVE_CACHE_CAPACITY", "DNNL_PRIMITIVE_CACHE_CAPACITY"].contains {
              ProcessInfo.processInfo.environment[$0] != nil
          }, "oneDNN's primitive cache capacity is set by hand"))
    func oneDNNsOwnPrimitiveCacheIsOff() throws {
        let dnnl = try #require(Self.oneDNN)
        #expect(dnnl.oneDNNCacheCapacity == 0)
    }

    /// Products of more shapes than the cache holds (a server's varied batch lengths) keep at most its capacity of
    /// primitives, and a shape met again after it was dropped still multiplies right.
    @Test(.enabled(if: { if case .oneDNN = BLAS.bf16Kernels { true } else { false } }(),
                   "BF16 products do not run on oneDNN here"))
    func productsOfMoreShapesThanTheCacheHoldsStayBoundedAndRight() throws {
        let dnnl = try #require(Self.oneDNN)
        let capacity = OneDNNLibrary.primitiveCacheCapacity
        let n = 8, k = 16, maxRows = capacity + 40
        var r = TestRandom(5)
        let a = r.floats(maxRows * k, scale: 1), b = r.floats(n * k, scale: 1)
        let a16 = BF16Buffer(capacity: maxRows * k), b16 = BF16Buffer(capacity: n * k)
        let bm = b16.convert(b, count: n * k)
        let before = dnnl.cacheStatistics
        var c = [Float](repeating: 0, count: maxRows * n), expected = c
        for rows in Array(1 ... maxRows) + [1, 2, 3] {
            let am = a16.convert(a, count: rows * k)
            BLAS.gemmBF16(.none, .transposed, m: rows, n: n, k: k, a: am, lda: k, b: bm, ldb: k, beta: 0, c: &c, ldc: n,
                          oneDNNShapes: .each)
            #expect(dnnl.cachedPrimitives <= capacity)
            if rows <= 3 || rows == maxRows {
                for i in 0 ..< rows {
                    for j in 0 ..< n {
                        var sum = 0.0
                        for p in 0 ..< k {
                            sum += Double(am.value(at: i * k + p)) * Double(bm.value(at: j * k + p))
                        }
                        expected[i * n + j] = Float(sum)
                    }
                }
                #expect(maxAbsDifference(Array(c[0 ..< rows * n]), Array(expected[0 ..< rows * n])) < 1e-4, "rows \(rows)")
            }
        }
        let after = dnnl.cacheStatistics
        #expect(after.evictions - before.evictions >= maxRows - capacity, "\(before) -> \(after)")
    }

    /// BF16 products made for any shape (the default): one primitive serves every row count and depth of the same
    /// strides, in each transpose the encoder uses, with or without a bias row added in the product, with results
    /// those of a Double reference and of a primitive made for the shape (within the float rounding of a
    /// different summation order: 1e-5 relative to the sum of |terms|).
    @Test(.enabled(if: oneDNNRunsBF16)) func aPrimitiveOfAnyShapeServesEveryRowCountAndMultipliesRight() throws {
        let dnnl = try OneDNNLibrary.shared.get()
        #expect(BLAS.defaultOneDNNShapes == .any)
        let n = 24, lda = 40, ldb = 40
        var r = TestRandom(9)
        let a = r.floats(300 * lda, scale: 1), b = r.floats(300 * ldb, scale: 1), bias = r.floats(n, scale: 1)
        let a16 = BF16Buffer(capacity: a.count), b16 = BF16Buffer(capacity: b.count)
        let am = a16.convert(a, count: a.count), bm = b16.convert(b, count: b.count)
        let shapes: [(BLAS.Transpose, BLAS.Transpose, m: Int, k: Int)] = [
            (.none, .transposed, 1, 40), (.none, .transposed, 37, 40), (.none, .transposed, 300, 33),
            (.none, .none, 5, 40), (.none, .none, 211, 17), (.transposed, .none, 40, 1), (.transposed, .none, 40, 299)]
        // Other suites multiply at the same time: count the primitives made for this test's strides only.
        let made = Counter()
        dnnl.observeMade { key in if key.lda == lda && key.ldb == ldb && key.ldc == n { made.count += 1 } }
        defer { dnnl.observeMade(nil) }
        for (ta, tb, m, k) in shapes {
            // op(a) is m × k with leading dimension lda (a stored k × lda when transposed, so m ≤ lda); op(b) is k × n.
            func aValue(_ i: Int, _ p: Int) -> Double { Double(am.value(at: ta == .none ? i * lda + p : p * lda + i)) }
            func bValue(_ p: Int, _ j: Int) -> Double { Double(bm.value(at: tb == .none ? p * ldb + j : j * ldb + p)) }
            for withBias in [false, true] {
                var any = [Float](repeating: 0.5, count: m * n), each = any
                bias.withUnsafeBufferPointer { row in
                    let beta: Float = withBias ? 0 : 1, b = withBias ? row.baseAddress : nil
                    BLAS.gemmBF16(ta, tb, m: m, n: n, k: k, a: am, lda: lda, b: bm, ldb: ldb, beta: beta, bias: b,
                                  c: &any, ldc: n, oneDNNShapes: .any)
                    BLAS.gemmBF16(ta, tb, m: m, n: n, k: k, a: am, lda: lda, b: bm, ldb: ldb, beta: beta, bias: b,
                                  c: &each, ldc: n, oneDNNShapes: .each)
                }
                for i in 0 ..< m {
                    for j in 0 ..< n {
                        var sum = withBias ? Double(bias[j]) : 0.5, magnitude = abs(sum)
                        for p in 0 ..< k { sum += aValue(i, p) * bValue(p, j); magnitude += abs(aValue(i, p) * bValue(p, j)) }
                        let tolerance = 1e-5 * magnitude, at = "\(ta) \(tb) m \(m) k \(k) bias \(withBias) [\(i), \(j)]"
                        #expect(abs(Double(any[i * n + j]) - sum) <= tolerance, "\(at)")
                        #expect(abs(Double(any[i * n + j]) - Double(each[i * n + j])) <= tolerance, "\(at)")
                    }
                }
            }
        }
        // Three strides-and-transposes combinations, with and without a bias: six primitives for any shape, one per
        // shape and bias for the others.
        #expect(made.count <= 6 + 2 * shapes.count, "\(made.count) primitives made; cache: \(dnnl.cacheStatistics)")
    }

    /// A packed weight multiplies like the row-major weight (within 1e-5 of Σ|terms| of a Double reference) for row
    /// counts below, at and across oneDNN's block (on oneDNN, the rows left over going through the primitive for any
    /// shape; where it runs, every row on the AMX kernel's panels when the depth is a whole number of its steps),
    /// with and without a bias added in the product, and a second `pack` replaces what the first laid out.
    @Test(.enabled(if: oneDNNRunsBF16), arguments: [BLAS.BF16Products.onednn] + (BLAS.bf16KernelRuns ? [.amx] : []), [40, 64])
    func packedWeightsMultiplyLikeTheRowMajorWeight(rows: BLAS.BF16Products, k: Int) throws {
        let n = 24, block = BLAS.rowBlock, maxRows = 2 * block + 100
        var r = TestRandom(12)
        let a = r.floats(maxRows * k, scale: 1), bias = r.floats(n, scale: 1)
        let a16 = BF16Buffer(capacity: a.count), w16 = BF16Buffer(capacity: 2 * n * k)
        let am = a16.convert(a, count: a.count)
        let first = w16.matrix(offset: 0, count: n * k), second = w16.matrix(offset: n * k, count: n * k)
        first.convert(from: r.floats(n * k, scale: 1))
        second.convert(from: r.floats(n * k, scale: 1))
        for withBias in [false, true] {
            let packed = try #require(PackedWeights(n: n, k: k, bias: withBias, rows: rows))
            #expect((packed.amxPanels != nil) == (rows == .amx && k % 32 == 0))
            for weight in [first, second] {
                packed.pack(weight)
                for m in [1, 37, block, block + 1, maxRows] {
                    var c = [Float](repeating: .nan, count: m * n)
                    bias.withUnsafeBufferPointer {
                        BLAS.gemmBF16(m: m, a: am, packed: packed, bias: withBias ? $0.baseAddress : nil, c: &c)
                    }
                    var worst = 0.0
                    for i in 0 ..< m {
                        for j in 0 ..< n {
                            var sum = withBias ? Double(bias[j]) : 0, magnitude = abs(sum)
                            for p in 0 ..< k {
                                let term = Double(am.value(at: i * k + p)) * Double(weight.value(at: j * k + p))
                                sum += term
                                magnitude += abs(term)
                            }
                            worst = max(worst, abs(Double(c[i * n + j]) - sum) / magnitude)
                        }
                    }
                    #expect(worst <= 1e-5, "\(rows) k \(k) bias \(withBias) m \(m): error \(worst) of Σ|terms|")
                }
            }
        }
    }

    /// Inference's products on a packed weight give a row the same bits wherever it falls against blocks of
    /// `BLAS.rowBlock` rows: rows around the first block's end multiplied alone, and all rows shifted by one, give
    /// the bits of the same rows in the whole product, on whatever runs them here (the AMX kernel takes every row
    /// where it runs). (The kernel and oneDNN's primitives round differently at a depth of two steps and more, so a
    /// block on one and the rows left over on another gave a row other bits alone than in a batch.)
    @Test(.enabled(if: oneDNNRunsBF16), arguments: [96, 384])
    func aRowGetsTheSameBitsWhereverTheBlocksFall(k: Int) throws {
        let n = 48, block = BLAS.rowBlock, m = 2 * block + 40
        var r = TestRandom(17)
        let a16 = BF16Buffer(capacity: m * k), w16 = BF16Buffer(capacity: n * k)
        let am = a16.convert(r.floats(m * k, scale: 1), count: m * k)
        let bias = r.floats(n, scale: 1)
        let packed = try #require(PackedWeights(n: n, k: k, bias: true))
        #expect((packed.amxPanels != nil) == BLAS.bf16KernelRuns)
        packed.pack(w16.convert(r.floats(n * k, scale: 1), count: n * k))
        func product(rows: Range<Int>) -> [UInt32] {
            var c = [Float](repeating: .nan, count: rows.count * n)
            bias.withUnsafeBufferPointer {
                BLAS.gemmBF16(m: rows.count, a: am.slice(from: rows.lowerBound * k, count: rows.count * k),
                              packed: packed, bias: $0.baseAddress, c: &c)
            }
            return c.map(\.bitPattern)
        }
        let whole = product(rows: 0 ..< m)
        for rows in [block - 5 ..< block + 7, 1 ..< m, 2 * block - 1 ..< 2 * block + 1] {
            let differing = zip(product(rows: rows), whole[rows.lowerBound * n ..< rows.upperBound * n]).filter { $0 != $1 }
            #expect(differing.isEmpty, "rows \(rows): \(differing.count) outputs differ from the whole product's")
        }
    }

    /// A product on packed weights followed by a pass over its rows (`gemmBF16(...epilogue:)`) hands the pass every
    /// row once, in order: in blocks of `BLAS.epilogueRows` where the AMX kernel multiplies them, all at once
    /// elsewhere. Each block's outputs have the bits of the product without the pass (below a block of oneDNN's
    /// rows both run the same kernel), in place, or with `reusingOutput` each block at the output's start.
    @Test(.enabled(if: oneDNNRunsBF16), arguments: [BLAS.BF16Products.onednn] + (BLAS.bf16KernelRuns ? [.amx] : []), [false, true])
    func aProductWithAPassOverItsRowsGivesEachRowOnceWithTheProductsBits(rows: BLAS.BF16Products,
                                                                         reusingOutput: Bool) throws {
        let n = 40, k = 64, maxRows = 3 * BLAS.epilogueRows + 9
        #expect(maxRows < BLAS.rowBlock)
        var r = TestRandom(31)
        let a16 = BF16Buffer(capacity: maxRows * k), w16 = BF16Buffer(capacity: n * k)
        let am = a16.convert(r.floats(maxRows * k, scale: 1), count: maxRows * k)
        let weight = w16.convert(r.floats(n * k, scale: 1), count: n * k)
        let bias = r.floats(n, scale: 1)
        let packed = try #require(PackedWeights(n: n, k: k, bias: true, rows: rows))
        packed.pack(weight)
        let blocks = packed.amxPanels != nil
        #expect(blocks == (rows == .amx))
        for m in [1, BLAS.epilogueRows - 1, BLAS.epilogueRows, BLAS.epilogueRows + 1, maxRows] {
            var whole = [Float](repeating: .nan, count: m * n)
            bias.withUnsafeBufferPointer { BLAS.gemmBF16(m: m, a: am, packed: packed, bias: $0.baseAddress, c: &whole) }
            var c = [Float](repeating: .nan, count: m * n), seen = [Float](repeating: .nan, count: m * n)
            var visited: [Range<Int>] = [], misplaced = 0
            c.withUnsafeMutableBufferPointer { c in
                bias.withUnsafeBufferPointer { bias in
                    BLAS.gemmBF16(m: m, a: am, packed: packed, bias: bias.baseAddress, c: c.baseAddress!,
                                  reusingOutput: reusingOutput) { rows, out in
                        visited.append(rows)
                        if out != c.baseAddress! + (reusingOutput ? 0 : rows.lowerBound * n) { misplaced += 1 }
                        for i in 0 ..< rows.count * n { seen[rows.lowerBound * n + i] = out[i] }
                    }
                }
            }
            let expected = blocks
                ? stride(from: 0, to: m, by: BLAS.epilogueRows).map { $0 ..< min(m, $0 + BLAS.epilogueRows) } : [0 ..< m]
            #expect(visited == expected, "m \(m)")
            #expect(misplaced == 0, "m \(m): \(misplaced) blocks' outputs were not where they belong")
            #expect(seen.map(\.bitPattern) == whole.map(\.bitPattern), "m \(m)")
        }
    }
}

/// Weights are packed only for oneDNN's products: where BF16 products are emulated (no AMX, or no BF16
/// instructions), and for single precision, there is nothing to pack for and a model keeps its row-major weights.
@Test func weightsArePackedOnlyWhereOneDNNRunsTheBF16Products() {
    #expect(PackedWeights(n: 4, k: 4, bias: true, kernels: .emulatedBF16(reason: "the CPU has no BF16 instructions")) == nil)
    #expect(PackedWeights(n: 4, k: 4, bias: false, kernels: .openBLAS) == nil)
    #expect((PackedWeights(n: 4, k: 4, bias: false) != nil) == oneDNNRunsBF16)
}

private var oneDNNRunsBF16: Bool {
    if case .success = OneDNNLibrary.shared, case .oneDNN = BLAS.bf16Kernels { return true }
    return false
}
#endif

/// A count that a closure kept by another object adds to (under that object's lock).
private final class Counter: @unchecked Sendable {
    var count = 0
}
