import CKernels
#if !canImport(Accelerate)
import CDNNL
#endif

/// A projection's weight [n, k] (a PyTorch Linear weight) for the BF16 products `out = inp · weightᵀ` whose rows
/// are tokens, laid out once so that no product lays it out again: where one of the tool's BF16 kernels runs
/// (`BLAS.bf16KernelRuns`: AMX, else AVX512-BF16) and k is a whole number of the AMX kernel's steps of depth, in the
/// kernels' panels, which take every row; elsewhere as oneDNN's
/// primitive for a block of `BLAS.rowBlock` rows reads it, the rows left over after the whole blocks (a sentence
/// alone is all rows left over) multiplied by the weight as packed last.
/// For weights that stay put over many products (inference): `pack` again after every change.
public final class PackedWeights: @unchecked Sendable {
    /// The weight's rows (the product's output columns) and columns (its depth).
    public let n: Int, k: Int
    /// Whether each product adds a bias row (given with the product), written with it in one pass.
    public let bias: Bool
    #if !canImport(Accelerate)
    /// oneDNN's primitive for whole blocks of rows, nil where the AMX kernel takes every row.
    let matmul: OneDNNLibrary.Matmul?
    private let dnnl: OneDNNLibrary
    #endif
    /// The weight as `matmul` reads it, nil without one.
    let storage: UnsafeMutableRawPointer?
    /// The weight in the tool's kernels' panels, which every row is multiplied by; nil where oneDNN multiplies them.
    /// The kernel and oneDNN's primitive round differently, so one of them takes all the rows: a row then gets the
    /// same bits whatever the rows around it (a sentence alone or in a batch, whichever lane or part).
    let amxPanels: UnsafeMutablePointer<UInt16>?
    /// The weight as packed last, row-major: the rows left over after the whole blocks are multiplied by it on
    /// oneDNN when there are no AMX panels.
    private(set) var plain: BF16Matrix?

    /// Nil where BF16 products do not run on oneDNN (or without oneDNN's packing, as with Accelerate).
    /// `rows` says who multiplies the rows: the tool's kernel (`.amx`: AMX, else AVX512-BF16), all of them, only
    /// where one runs and k is a whole number of the AMX kernel's steps of depth; oneDNN otherwise.
    public init?(n: Int, k: Int, bias: Bool, kernels: BLAS.Kernels = BLAS.bf16Kernels,
                 rows: BLAS.BF16Products = BLAS.inferenceProducts) {
        #if canImport(Accelerate)
        return nil
        #else
        guard kernels.isOneDNN, case .success(let dnnl) = OneDNNLibrary.shared, n > 0, k > 0 else { return nil }
        self.n = n
        self.k = k
        self.bias = bias
        self.dnnl = dnnl
        if rows == .amx && BLAS.bf16KernelRuns && k % Int(BT_AMX_DEPTH) == 0 {
            let panelElements = Int(bt_amx_packed_elements(k, n))
            amxPanels = UnsafeMutableRawPointer.allocate(byteCount: panelElements * 2, alignment: 64)
                .bindMemory(to: UInt16.self, capacity: panelElements)
            matmul = nil
        } else {
            amxPanels = nil
            matmul = dnnl.matmul(.init(transA: false, transB: true, m: BLAS.rowBlock, n: n, k: k, lda: k, ldb: k, ldc: n,
                                       alpha: 1, beta: 0, bf16: true, shapes: .each, packedWeights: true, bias: bias))
        }
        storage = matmul.map { UnsafeMutableRawPointer.allocate(byteCount: max($0.packedWeightBytes, 64), alignment: 64) }
        #endif
    }

    deinit {
        storage?.deallocate()
        amxPanels?.deallocate()
    }

    /// Lays `weight` (n × k values converted for oneDNN) out for the products; it must stay unchanged until the
    /// next `pack` where the rows left over read it as it is (no AMX panels).
    public func pack(_ weight: BF16Matrix) {
        precondition(weight.count == n * k, "a packed weight of \(n) × \(k) given \(weight.count) values")
        precondition(weight.kernels.isOneDNN, "a packed weight given values converted for \(weight.kernels)")
        #if !canImport(Accelerate)
        if let matmul, let storage {
            dnnl.pack(matmul, weights: weight.storage, into: storage, threads: Parallel.threadCount)
        }
        if let amxPanels {
            let panels = (n + Int(BT_AMX_PANEL) - 1) / Int(BT_AMX_PANEL)
            bt_amx_pack(amxPanels, weight.storage.assumingMemoryBound(to: UInt16.self), k, 1, k, n, 0, panels)
        }
        #endif
        plain = weight
    }
}

/// A projection's weight [n, k] (a PyTorch Linear weight) laid out once for single-precision products
/// `out = inp · weightᵀ + bias` on the tool's own kernel (CKernels' bt_packed_sgemm: panels of sixteen output
/// columns, tiles of six rows in AVX2 registers). A BLAS library lays the weight out again in every call, which
/// for a sentence of a few dozen tokens costs about as much as the product itself. For weights that stay put
/// (inference): `pack` again after every change.
public final class PackedFP32Weights: @unchecked Sendable {
    /// The weight's rows (the product's output columns) and columns (its depth).
    public let n: Int, k: Int
    let storage: UnsafeMutablePointer<Float>

    /// Nil unless `products` is `.packed` (by default, where inference runs its single-precision products on the
    /// packed kernel: `BLAS.fp32InferenceProducts`) and the processor runs the kernel.
    public init?(n: Int, k: Int, products: BLAS.FP32InferenceProducts = BLAS.fp32InferenceProducts) {
        guard products == .packed, bt_packed_sgemm_available() != 0, n > 0, k > 0 else { return nil }
        self.n = n
        self.k = k
        let count = bt_packed_sgemm_floats(n, k)
        storage = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }

    deinit { storage.deallocate() }

    /// Lays `weight` (n × k values, row-major) out for the products; the weight itself is not kept.
    public func pack(_ weight: UnsafePointer<Float>) {
        bt_packed_sgemm_pack(storage, weight, n, k)
    }
}
