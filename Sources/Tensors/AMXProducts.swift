import CKernels
import Foundation

extension BLAS {
    /// Who multiplies BF16 inputs in oneDNN's format (bfloat16) where AMX runs them: `amx`, the tool's kernel on
    /// AMX tiles (`bt_amx_gemm.c`), or `onednn`, oneDNN's matrix-product primitives.
    public enum BF16Products: String, CaseIterable, Sendable {
        case amx, onednn
    }

    /// The variable that chooses BF16 products by hand.
    public static let bf16ProductsVariable = "BERT_TAGGER_BF16_PRODUCTS"

    /// Whether the AMX kernel runs here: BF16 products run on oneDNN's input format (a processor with AMX, under
    /// `BERT_TAGGER_MAX_CPU_ISA`'s cap) and Linux grants the tiles.
    public static let amxRuns = bf16Kernels.isOneDNN && CPUFeatures.current.hasAMX && bt_amx_request() != 0

    /// Whether the tool's AVX512-BF16 kernel runs here (`bt_bf16_gemm.c`, on the AMX kernel's panels): BF16 products
    /// run on oneDNN's input format on a processor with AVX512-BF16 where the AMX kernel does not run.
    public static let bf16DotRuns = bf16Kernels.isOneDNN && CPUFeatures.current.vectorLevel == .avx512
        && CPUFeatures.current.has(.avx512_bf16) && !amxRuns

    /// Whether one of the tool's BF16 kernels runs here: the AMX kernel, or else the AVX512-BF16 one.
    public static let bf16KernelRuns = amxRuns || bf16DotRuns

    /// The tool's BF16 kernel that runs here, as `info` and the benchmarks name it; nil where neither runs.
    public static let bf16KernelName: String? = amxRuns ? "the tool's AMX kernel"
        : bf16DotRuns ? "the tool's AVX512-BF16 kernel" : nil

    /// What `BERT_TAGGER_BF16_PRODUCTS` asks for in this process (nil: unset, or a value `ComputeLibraries` reports).
    static let bf16ProductsAsked = (try? bf16ProductsOverride(ProcessInfo.processInfo.environment)) ?? nil

    /// Who runs training's BF16 products (and any BF16 product not on packed weights): the AMX kernel where it
    /// runs, unless oneDNN is asked for by hand. With each lane multiplying its own sentences on one thread, oneDNN's
    /// primitive for any shape runs its AVX512-BF16 gemm kernels, not AMX; on a Xeon with AMX (family 6 model 167)
    /// training steps on the kernel, once it held each block of rows while the weights' panels passed over it, ran
    /// 1.17-1.47 times as fast (README, Performance). Where the AVX512-BF16 kernel runs instead, it takes the
    /// forward's products alone (`gemmAMX`), which then have the bits inference gives; on an AMD EPYC of family 25
    /// model 17 training steps so ran level with all on oneDNN (1.00-1.01 times), and at 0.79-1.02 times with the
    /// backward's products on the kernel too.
    public static let bf16Products: BF16Products = bf16ProductsChoice(amxRuns: bf16KernelRuns, asked: bf16ProductsAsked,
                                                                      byDefault: .amx)

    /// Who multiplies inference's BF16 products on packed weights (`PackedWeights`): the tool's kernel on its own
    /// panels, every row, where one runs (AMX tiles, else AVX512-BF16's dot products), unless oneDNN is asked for by
    /// hand (oneDNN then runs whole blocks of `rowBlock` rows on its packed primitive and the rest on its primitive
    /// for any shape). Q, K and V tagged as fast on the AMX kernel as in oneDNN's blocks (0.98-1.01 times, timed call
    /// by call, alternating, in one process), and with one of the two taking every row a row's bits do not depend on
    /// where the blocks fall. On an AMD EPYC of family 25 model 17 (AVX512-BF16, no AMX) the AVX512-BF16 kernel
    /// multiplied 7 to 64 rows at 209-228 GFLOP/s on one core, and one sentence's tagging latency fell from 5.7-6.3
    /// to 3.1-3.5 ms (README, Performance).
    public static let inferenceProducts: BF16Products = bf16ProductsChoice(amxRuns: bf16KernelRuns,
                                                                           asked: bf16ProductsAsked, byDefault: .amx)

    /// The decision behind `bf16Products` and `inferenceProducts`: what was asked for, else `byDefault`, and
    /// oneDNN wherever the kernel in question does not run.
    public static func bf16ProductsChoice(amxRuns: Bool, asked: BF16Products?, byDefault: BF16Products) -> BF16Products {
        guard amxRuns else { return .onednn }
        return asked ?? byDefault
    }

    /// What `BERT_TAGGER_BF16_PRODUCTS` asks for: nil when unset or empty, an error naming the value otherwise.
    public static func bf16ProductsOverride(_ environment: [String: String]) throws(KernelLibraryError) -> BF16Products? {
        try choiceSetByHand(bf16ProductsVariable, in: environment, namesNo: "way to run BF16 products")
    }

    /// Whether the tool's kernel here takes products of this form: every form on AMX; on AVX512-BF16 alone only
    /// the forward's a · bᵀ (training's backward phase ran 7% slower on it than on oneDNN, and the forward on it
    /// gives the bits inference gives).
    static func bf16KernelTakes(_ transA: Transpose, _ transB: Transpose) -> Bool {
        amxRuns || (bf16DotRuns && transA == .none && transB == .transposed)
    }

    /// A BF16 product on the tool's kernel, when its form is one the kernel takes (`bf16KernelTakes`): c = a · b
    /// (+ c with beta 1, or + bias), a as stored or transposed, b as stored or transposed, alpha 1. Returns false,
    /// having done nothing, for any other form (the caller then runs oneDNN's).
    static func gemmAMX(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                        a: UnsafeRawPointer, lda: Int, b: UnsafeRawPointer, ldb: Int, beta: Float,
                        bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        let depth = Int(BT_AMX_DEPTH), panelWidth = Int(BT_AMX_PANEL)
        guard alpha == 1, beta == 0 || (beta == 1 && bias == nil), k > 0 else { return false }
        guard bf16KernelTakes(transA, transB) else { return false }
        // The first input is read in place only as rows of whole steps of depth; transposed, it is copied anyway.
        guard transA == .transposed || k % depth == 0 else { return false }
        let a16 = a.assumingMemoryBound(to: UInt16.self), b16 = b.assumingMemoryBound(to: UInt16.self)
        let kp = (k + depth - 1) / depth * depth
        let packedCount = Int(bt_amx_packed_elements(k, n))
        let transposedCount = transA == .transposed ? m * kp : 0
        let work = bt_amx_workspace(packedCount + transposedCount)!
        let packed = UnsafePointer(work), transposed = work + packedCount
        let first = transA == .transposed ? UnsafePointer(transposed) : a16
        let firstStride = transA == .transposed ? kp : lda
        // Transposed, the first input is padded with zeros to whole steps of depth (as is the second): the kernel
        // then takes every full tile whole instead of through its edge buffers.
        let depthRun = transA == .transposed ? kp : k
        let panels = (n + panelWidth - 1) / panelWidth, pairs = (panels + 1) / 2
        let transposedB: Int32 = transB == .transposed ? 1 : 0
        // About two million multiply-adds per thread at least (tens of microseconds on AMX).
        let workers = min(Parallel.threadCount, pairs, max(1, m * n * k / 2_000_000))
        let accumulate: Int32 = beta == 1 ? 1 : 0
        let kernel = amxRuns ? bt_amx_gemm : bt_bf16_gemm
        if transA == .transposed {
            // Every worker reads all of the first input: both inputs are laid out before any product starts.
            Parallel.forEachWorker(workers) { w in
                bt_amx_pack(work, b16, ldb, transposedB, k, n, panels * w / workers, panels * (w + 1) / workers)
                bt_amx_transpose(transposed, kp, a16, lda, k, m * w / workers, m * (w + 1) / workers)
            }
            Parallel.forEachWorker(workers) { w in
                kernel(c, ldc, first, firstStride, packed, m, n, depthRun, accumulate, bias,
                       2 * (pairs * w / workers), min(panels, 2 * (pairs * (w + 1) / workers)))
            }
        } else {
            // Each worker packs the panels it multiplies.
            Parallel.forEachWorker(workers) { w in
                let begin = 2 * (pairs * w / workers), end = min(panels, 2 * (pairs * (w + 1) / workers))
                bt_amx_pack(work, b16, ldb, transposedB, k, n, begin, end)
                kernel(c, ldc, first, firstStride, packed, m, n, depthRun, accumulate, bias, begin, end)
            }
        }
        return true
    }

    /// c[m, n] = a[m, k] · b (+ c when `accumulate`, or + bias), b already in the kernel's panels (`PackedWeights`,
    /// `AMXPanels`), a and c dense: the panels split over the threads in pairs, so that one sentence keeps both
    /// cores busy. On AMX tiles where they run, else on AVX512-BF16's dot products (`bf16DotRuns`).
    static func gemmAMX(m: Int, a: UnsafePointer<UInt16>, packed: UnsafePointer<UInt16>, n: Int, k: Int,
                        bias: UnsafePointer<Float>?, accumulate: Bool = false, c: UnsafeMutablePointer<Float>) {
        precondition(!(accumulate && bias != nil), "the AMX kernel adds the output or a bias, not both")
        let panels = (n + Int(BT_AMX_PANEL) - 1) / Int(BT_AMX_PANEL), pairs = (panels + 1) / 2
        let workers = min(Parallel.threadCount, pairs, max(1, m * n * k / 1_000_000))
        let kernel = amxRuns ? bt_amx_gemm : bt_bf16_gemm
        Parallel.forEachWorker(workers) { w in
            kernel(c, n, a, k, packed, m, n, k, accumulate ? 1 : 0, bias, 2 * (pairs * w / workers),
                   min(panels, 2 * (pairs * (w + 1) / workers)))
        }
    }

    /// c[m, n] = a[m, k] · b (+ c when `accumulate`, or + bias) with b in `panels`, a in BF16 (oneDNN's format) and
    /// dense (leading dimension k), c dense: the product `gemmBF16` would make of b as stored, the same bits,
    /// without laying b out again.
    public static func gemmBF16(m: Int, a: BF16Matrix, panels: AMXPanels, bias: UnsafePointer<Float>?,
                                accumulate: Bool = false, c: UnsafeMutablePointer<Float>) {
        checkSizes(m, panels.n, panels.k)
        if m == 0 { return }
        precondition(m * panels.k <= a.count, "a BF16 product of \(m) × \(panels.k) inputs given a matrix of \(a.count)")
        precondition(a.kernels.isOneDNN, "BF16 inputs converted for \(a.kernels) multiplied on AMX panels")
        precondition(panels.packed, "a product on AMX panels that were never packed")
        gemmAMX(m: m, a: UnsafePointer(a.storage.assumingMemoryBound(to: UInt16.self)), packed: panels.storage,
                n: panels.n, k: panels.k, bias: bias, accumulate: accumulate, c: c)
    }
}

/// A training weight [OC, IC] (a PyTorch Linear weight, in BF16) laid out in the AMX kernel's panels for one of
/// its two products: the forward's `inp · weightᵀ` (depth IC, OC columns) or the input gradient's `dout · weight`
/// (depth OC, IC columns). A BF16 product on the kernel otherwise lays its second input out at every call; a
/// training step multiplies each weight once per lane in each direction, so the step's weights are laid out once,
/// for all lanes, after each change (`pack`).
public final class AMXPanels: @unchecked Sendable {
    public enum Product: Sendable { case forward, inputGradient }
    public let product: Product
    /// The product's depth and columns.
    public let k: Int, n: Int
    let storage: UnsafeMutablePointer<UInt16>
    private(set) var packed = false

    /// Nil unless training's BF16 products run on the AMX kernel (`BLAS.bf16Products`) and the depth is a whole
    /// number of the kernel's steps (its first input is then read in place).
    public init?(outputs OC: Int, inputs IC: Int, product: Product, products: BLAS.BF16Products = BLAS.bf16Products) {
        let (k, n) = product == .forward ? (IC, OC) : (OC, IC)
        // The forward multiplies by the weight transposed, the input gradient by the weight as stored.
        guard products == .amx, BLAS.bf16KernelTakes(.none, product == .forward ? .transposed : .none), k > 0, n > 0,
              k % Int(BT_AMX_DEPTH) == 0 else { return nil }
        self.product = product
        self.k = k
        self.n = n
        let elements = Int(bt_amx_packed_elements(k, n))
        storage = UnsafeMutableRawPointer.allocate(byteCount: elements * 2, alignment: 64)
            .bindMemory(to: UInt16.self, capacity: elements)
    }

    deinit { storage.deallocate() }

    /// Lays `weight` ([OC, IC] in BF16, oneDNN's format) out for the product, its panels split over the threads.
    public func pack(_ weight: BF16Matrix) {
        precondition(weight.count == n * k, "AMX panels of \(k) × \(n) given a weight of \(weight.count) values")
        precondition(weight.kernels.isOneDNN, "AMX panels given values converted for \(weight.kernels)")
        let values = UnsafePointer(weight.storage.assumingMemoryBound(to: UInt16.self))
        // The forward's second input is the weight transposed ([IC, OC] read from [OC, IC], rows IC apart); the
        // input gradient's is the weight as stored ([OC, IC], rows IC apart).
        let transposed: Int32 = product == .forward ? 1 : 0, ldb = product == .forward ? k : n
        let panels = (n + Int(BT_AMX_PANEL) - 1) / Int(BT_AMX_PANEL)
        Parallel.forEachChunk(panels, grain: 4) { r in
            bt_amx_pack(storage, values, ldb, transposed, k, n, r.lowerBound, r.upperBound)
        }
        packed = true
    }
}
