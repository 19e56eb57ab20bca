// The one place that knows which libraries run the matrix products: Accelerate on Apple platforms; elsewhere
// OpenBLAS (loaded at first use, kernels named from the CPU: OpenBLASLibrary) for single precision and oneDNN,
// where the system has it, for BF16 products and for products run on the calling thread alone.
#if canImport(Accelerate)
import Accelerate
#endif
import CKernels
import Foundation

/// The number format of a matrix product's inputs. Outputs are single precision either way. INT8 is for
/// inference alone: the encoder's projections with 8-bit inputs summed exactly in int32 (`gemmInt8`), every other
/// product and kernel in single precision.
public enum GEMMPrecision: String, CaseIterable, Sendable, CustomStringConvertible {
    case fp32, bf16, int8
    public var description: String { rawValue }
}

/// The precision a user asks for: one of the three, or `auto`, which is BF16 where oneDNN multiplies BF16 faster
/// than single precision (AMX tiles; AVX512-BF16 on AMD), else FP32 (see the README's figures for why); `auto` never
/// picks INT8, which changes results more than BF16 does.
public enum PrecisionChoice: String, CaseIterable, Codable, Sendable {
    case auto, fp32, bf16, int8

    public var resolved: GEMMPrecision { resolved(cpu: .current, bf16Kernels: BLAS.bf16Kernels) }

    /// The precision on a processor whose BF16 products run on `bf16Kernels`: `auto` is BF16 only where oneDNN
    /// multiplies it on AMX, or on an AMD processor's AVX512-BF16 (an AMD EPYC of family 25 model 17 ran BF16
    /// training steps 1.65-1.69 times and inference 1.8 times as fast as FP32 ones); on Intel's AVX512-BF16 alone,
    /// BF16 steps measured slower than FP32 ones (see the README).
    public func resolved(cpu: CPUFeatures, bf16Kernels: BLAS.Kernels) -> GEMMPrecision {
        switch self {
        case .fp32: return .fp32
        case .bf16: return .bf16
        case .int8: return .int8
        case .auto:
            guard cpu.hasAMX || cpu.isAMD, bf16Kernels.isOneDNN else { return .fp32 }
            return .bf16
        }
    }
}

/// Values stored as BF16 products take their inputs: bfloat16 for oneDNN's kernels (half the bytes), single
/// precision rounded to bfloat16 for the emulation. A matrix converted once this way feeds any number of products
/// without being converted again (weights between optimizer steps, an activation that three projections read).
public final class BF16Buffer: @unchecked Sendable {
    /// Values it holds at most.
    public let capacity: Int
    /// The kernels whose input format it holds.
    let kernels: BLAS.Kernels
    private let slab: FloatSlab

    public convenience init(capacity: Int) { self.init(capacity: capacity, kernels: BLAS.bf16Kernels) }

    init(capacity: Int, kernels: BLAS.Kernels) {
        self.capacity = capacity
        self.kernels = kernels
        slab = FloatSlab(count: kernels.isOneDNN ? (capacity + 1) / 2 : capacity)
    }

    /// The start of the buffer's memory: `capacity` bfloat16 values fit whatever the kernels.
    var storage: UnsafeMutableRawPointer { UnsafeMutableRawPointer(slab.pointer) }

    /// Values `offset ..< offset + count` as a matrix for BF16 products.
    public func matrix(offset: Int = 0, count: Int) -> BF16Matrix {
        precondition(offset >= 0 && count >= 0 && offset + count <= capacity,
                     "values \(offset) ..< \(offset + count) are outside a BF16 buffer of \(capacity)")
        let bytes = kernels.isOneDNN ? MemoryLayout<UInt16>.stride : MemoryLayout<Float>.stride
        return BF16Matrix(buffer: self, storage: storage + offset * bytes, count: count)
    }

    /// Converts `count` values of `source` into the start of the buffer and returns them as a matrix.
    public func convert(_ source: UnsafePointer<Float>, count: Int) -> BF16Matrix {
        let converted = matrix(count: count)
        converted.convert(from: source)
        return converted
    }
}

/// A view of `count` values in a `BF16Buffer`, in its kernels' input format; it keeps the buffer alive.
public struct BF16Matrix: @unchecked Sendable {
    private let buffer: BF16Buffer
    let storage: UnsafeMutableRawPointer
    public let count: Int
    var kernels: BLAS.Kernels { buffer.kernels }

    fileprivate init(buffer: BF16Buffer, storage: UnsafeMutableRawPointer, count: Int) {
        self.buffer = buffer
        self.storage = storage
        self.count = count
    }

    /// Values `offset ..< offset + count` of this view, as a view of their own.
    public func slice(from offset: Int, count: Int) -> BF16Matrix {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count,
                     "values \(offset) ..< \(offset + count) are outside a BF16 matrix of \(self.count)")
        let bytes = kernels.isOneDNN ? MemoryLayout<UInt16>.stride : MemoryLayout<Float>.stride
        return BF16Matrix(buffer: buffer, storage: storage + offset * bytes, count: count)
    }

    /// Sets the view's values from `count` values of `source`, rounded to bfloat16.
    public func convert(from source: UnsafePointer<Float>) {
        if kernels.isOneDNN {
            convertToBFloat16(storage.assumingMemoryBound(to: UInt16.self), source, count: count)
        } else {
            roundToBFloat16(storage.assumingMemoryBound(to: Float.self), source, count: count)
        }
    }

    /// The values back in single precision (exact: every bfloat16 is a single).
    public func value(at index: Int) -> Float {
        precondition(index >= 0 && index < count, "index \(index) outside a BF16 matrix of \(count)")
        return kernels.isOneDNN ? floatFromBFloat16(storage.assumingMemoryBound(to: UInt16.self)[index])
            : storage.assumingMemoryBound(to: Float.self)[index]
    }

    /// For a kernel that writes `count` single-precision values to `source` and can write them as a BF16 product's
    /// input in the same pass: `body` gets `matrix`'s bfloat16 storage where the format is oneDNN's, else nil, and
    /// the emulation's format (single precision, rounded) is converted from `source` after it. Either way `matrix`
    /// ends with the bits of `convert(from: source)`. With `matrix` nil, `body` gets nil.
    static func written(_ matrix: BF16Matrix?, count: Int, from source: UnsafePointer<Float>,
                        by body: (UnsafeMutablePointer<UInt16>?) -> Void) {
        guard let matrix else { return body(nil) }
        precondition(matrix.count == count, "a BF16 matrix of \(matrix.count) values for \(count)")
        guard matrix.kernels.isOneDNN else {
            body(nil)
            return matrix.convert(from: source)
        }
        body(matrix.storage.assumingMemoryBound(to: UInt16.self))
    }
}

/// Work areas for the inputs of BF16 products that are converted at the call: `a` for the first input, `b` for the
/// second, of `capacity` values each unless `b` is given less (a caller whose second inputs all come converted).
public final class GEMMScratch: @unchecked Sendable {
    public let capacity: Int
    /// The kernels the areas are sized for.
    let kernels: BLAS.Kernels
    public let a: BF16Buffer
    public let b: BF16Buffer

    public convenience init(capacity: Int, secondCapacity: Int? = nil) {
        self.init(capacity: capacity, kernels: BLAS.bf16Kernels, secondCapacity: secondCapacity)
    }

    init(capacity: Int, kernels: BLAS.Kernels, secondCapacity: Int? = nil) {
        self.capacity = capacity
        self.kernels = kernels
        a = BF16Buffer(capacity: capacity, kernels: kernels)
        b = BF16Buffer(capacity: secondCapacity ?? capacity, kernels: kernels)
    }
}

/// Row-major matrix products, with transposes expressed as flags rather than copies.
public enum BLAS {
    public enum Transpose: Sendable {
        case none, transposed

        #if canImport(Accelerate)
        fileprivate var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
        #else
        fileprivate var cblas: Int32 { self == .none ? 111 : 112 }   // CblasNoTrans, CblasTrans
        #endif
    }

    /// Who runs the products of one precision.
    public enum Kernels: Equatable, Sendable {
        case openBLAS
        case oneDNN(isa: String)
        case accelerate
        /// BF16 inputs rounded in single precision and multiplied by the single-precision kernels: the same
        /// numbers as BF16 hardware up to summation order, at single-precision speed.
        case emulatedBF16(reason: String)

        public var isOneDNN: Bool { if case .oneDNN = self { return true }; return false }
        public var isEmulated: Bool { if case .emulatedBF16 = self { return true }; return false }
    }

    /// c[m,n] = alpha · op(a)[m,k] · op(b)[k,n] + beta · c[m,n], all row-major with leading dimensions
    /// (row strides) lda, ldb, ldc, so a head's columns inside a wider matrix are a strided view.
    /// `callingThreadOnly` runs it on the calling thread alone, for products made inside parallel workers.
    @inline(__always)
    public static func sgemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                             callingThreadOnly: Bool = false) {
        checkSizes(m, n, k)
        if m == 0 || n == 0 { return }
        #if canImport(Accelerate)
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #else
        // OpenBLAS's thread count is one setting for the whole process; oneDNN's is the calling thread's own.
        // A lane's products run on its thread alone as well (Parallel.forEachLane).
        let callingThreadOnly = callingThreadOnly || Parallel.inLane
        if callingThreadOnly || fp32OnOneDNN, case .success(let dnnl) = OneDNNLibrary.shared {
            dnnl.sgemm(transA == .transposed, transB == .transposed, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                       threads: callingThreadOnly ? 1 : Parallel.threadCount)
            return
        }
        openBLAS.sgemm(101 /* CblasRowMajor */, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
                       alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #endif
    }

    /// The same product in `precision`: BF16 rounds both inputs to bfloat16 (through `scratch`) and accumulates
    /// in single precision. Inputs of a BF16 product are whole row-major matrices: the stored rows times their
    /// leading dimension must fit the scratch.
    public static func gemm(_ precision: GEMMPrecision, _ transA: Transpose, _ transB: Transpose,
                            m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, scratch: GEMMScratch?) {
        gemm(precision, transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc, scratch: scratch, bf16Kernels: bf16Kernels)
    }

    /// `gemm` with the BF16 kernels named, so tests run the emulation on BF16 hardware too.
    static func gemm(_ precision: GEMMPrecision, _ transA: Transpose, _ transB: Transpose,
                     m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, scratch: GEMMScratch?,
                     bf16Kernels: Kernels, oneDNNShapes: OneDNNShapes = defaultOneDNNShapes,
                     products: BF16Products = bf16Products) {
        precondition(precision != .int8, "INT8 products run on packed weights alone (gemmInt8)")
        guard precision == .bf16 else {
            sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        guard let scratch else { preconditionFailure("a BF16 product needs a GEMMScratch") }
        let countA = (transA == .none ? m : k) * lda, countB = (transB == .none ? k : n) * ldb
        precondition(countA <= scratch.a.capacity && countB <= scratch.b.capacity,
                     "BF16 product inputs of \(countA) and \(countB) values exceed the scratch's \(scratch.capacity)")
        precondition(scratch.kernels == bf16Kernels, "a scratch sized for \(scratch.kernels) used by \(bf16Kernels)")
        if m == 0 || n == 0 { checkSizes(m, n, k); return }
        gemmBF16(transA, transB, m: m, n: n, k: k, alpha: alpha, a: scratch.a.convert(a, count: countA), lda: lda,
                 b: scratch.b.convert(b, count: countB), ldb: ldb, beta: beta, c: c, ldc: ldc,
                 oneDNNShapes: oneDNNShapes, products: products)
    }

    /// A BF16 product of inputs already converted (`BF16Buffer`), accumulated in single precision. Each input
    /// holds a whole row-major matrix: its stored rows times its leading dimension. A `bias` (n values, with beta
    /// 0 and a dense c) is added to every row: on oneDNN within the product, elsewhere put in c first.
    public static func gemmBF16(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: BF16Matrix, lda: Int, b: BF16Matrix, ldb: Int,
                                beta: Float, bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int) {
        gemmBF16(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, bias: bias,
                 c: c, ldc: ldc, oneDNNShapes: defaultOneDNNShapes)
    }

    /// c[m, n] = a[m, k] · weightᵀ (+ bias in every row, given exactly when the weight was made for one), a in
    /// BF16 with leading dimension k, c with leading dimension n: every row on the AMX kernel where the weight has
    /// its panels; otherwise whole blocks of `rowBlock` rows through the primitive that reads the packed weight, the
    /// rows left over through the primitive for any shape on the weight as it was packed.
    public static func gemmBF16(m: Int, a: BF16Matrix, packed: PackedWeights, bias: UnsafePointer<Float>?,
                                c: UnsafeMutablePointer<Float>) {
        let n = packed.n, k = packed.k
        checkSizes(m, n, k)
        if m == 0 { return }
        guard let plain = packed.plain else { preconditionFailure("a product with packed weights that were never packed") }
        precondition(m * k <= a.count, "a BF16 product of \(m) × \(k) inputs given a matrix of \(a.count)")
        precondition(a.kernels.isOneDNN, "BF16 inputs converted for \(a.kernels) multiplied by packed weights")
        precondition((bias != nil) == packed.bias, "a weight packed \(packed.bias ? "with" : "without") a bias given \(bias == nil ? "none" : "one")")
        #if !canImport(Accelerate)
        if let panels = packed.amxPanels {
            gemmAMX(m: m, a: UnsafePointer(a.storage.assumingMemoryBound(to: UInt16.self)), packed: panels, n: n, k: k,
                    bias: bias, c: c)
            return
        }
        guard case .success(let dnnl) = OneDNNLibrary.shared, let matmul = packed.matmul, let storage = packed.storage
        else { preconditionFailure("packed weights without oneDNN") }
        var done = 0
        while m - done >= rowBlock {
            dnnl.run(matmul, m: rowBlock, n: n, k: k, a: a.storage + done * k * 2, b: storage,
                     bias: bias, c: c + done * n, threads: Parallel.threadCount)
            done += rowBlock
        }
        if done < m {
            let rest = dnnl.matmul(.init(transA: false, transB: true, m: m - done, n: n, k: k, lda: k, ldb: k, ldc: n,
                                         alpha: 1, beta: 0, bf16: true, shapes: .any, bias: packed.bias))
            dnnl.run(rest, m: m - done, n: n, k: k, a: a.storage + done * k * 2, b: plain.storage, bias: bias,
                     c: c + done * n, threads: Parallel.threadCount)
        }
        #endif
    }

    /// `gemmBF16(m:a:packed:bias:c:)` followed by `epilogue`, a pass over the product's rows that reads nothing of
    /// other rows: where the AMX kernel runs the product (its panels exist), it multiplies `epilogueRows` rows at a
    /// time and `epilogue` follows each block while its outputs are in cache; elsewhere the whole product runs, then
    /// `epilogue(0 ..< m, c)`. `epilogue` gets the rows and where their outputs start: in `c` at the first row's
    /// place, or with `reusingOutput` at `c` itself, each block written over the last (the outputs then are read by
    /// `epilogue` only). The kernel's rows are independent, so every row gets the same bits whatever the blocks.
    public static func gemmBF16(m: Int, a: BF16Matrix, packed: PackedWeights, bias: UnsafePointer<Float>?,
                                c: UnsafeMutablePointer<Float>, reusingOutput: Bool = false,
                                epilogue: (_ rows: Range<Int>, _ outputs: UnsafeMutablePointer<Float>) -> Void) {
        guard packed.amxPanels != nil else {
            gemmBF16(m: m, a: a, packed: packed, bias: bias, c: c)
            epilogue(0 ..< m, c)
            return
        }
        // A block is fewer rows than oneDNN's, so each runs on the kernel alone.
        var done = 0
        while done < m {
            let rows = done ..< min(m, done + epilogueRows)
            let out = reusingOutput ? c : c + done * packed.n
            gemmBF16(m: rows.count, a: a.slice(from: done * packed.k, count: rows.count * packed.k), packed: packed,
                     bias: bias, c: out)
            epilogue(rows, out)
            done = rows.upperBound
        }
    }

    /// The rows of one block of `gemmBF16(m:a:packed:bias:c:reusingOutput:epilogue:)` on the AMX kernel (fewer than
    /// `rowBlock`): a block's outputs (at most 64 × 1,536 floats, 384 KiB, in the default encoder) stay in the
    /// second-level cache for the pass that follows.
    static let epilogueRows = 64

    /// Whether a oneDNN matmul primitive is made for one shape (m, n, k) or for any (oneDNN's runtime dimensions).
    enum OneDNNShapes: Sendable {
        /// One primitive per shape: oneDNN 2.6 then picks its brgemm kernels (AMX where present), and each new
        /// shape costs 1-20 ms to make.
        case each
        /// One primitive for every shape of the same strides: oneDNN runs its gemm kernels, made in 0.1 ms.
        case any
    }

    /// The rows of one block of a product with packed weights (`PackedWeights`).
    static let rowBlock = 256

    /// How BF16 products on oneDNN are made. Packed batches change the row count with nearly every batch, so
    /// with one primitive per shape a training step made 3.7 new primitives (5% of its time); on the encoder's
    /// shapes at 640 tokens the gemm kernels of `any` also multiply as fast as brgemm or faster, and training
    /// steps in blocks of 256 rows on brgemm measured no faster (README, Performance).
    static let defaultOneDNNShapes = OneDNNShapes.any

    /// `gemmBF16` with the kind of oneDNN primitive named, for the tests and the benchmark that compare them.
    static func gemmBF16(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
                         a: BF16Matrix, lda: Int, b: BF16Matrix, ldb: Int,
                         beta: Float, bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int,
                         oneDNNShapes: OneDNNShapes, products: BF16Products = bf16Products) {
        checkSizes(m, n, k)
        if m == 0 || n == 0 { return }
        let countA = (transA == .none ? m : k) * lda, countB = (transB == .none ? k : n) * ldb
        precondition(countA <= a.count && countB <= b.count,
                     "BF16 product inputs of \(countA) and \(countB) values, given matrices of \(a.count) and \(b.count)")
        precondition(a.kernels == b.kernels, "BF16 inputs converted for \(a.kernels) and \(b.kernels)")
        #if !canImport(Accelerate)
        if a.kernels.isOneDNN, case .success(let dnnl) = OneDNNLibrary.shared {
            if products == .amx,
               gemmAMX(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a.storage, lda: lda, b: b.storage, ldb: ldb,
                       beta: beta, bias: bias, c: c, ldc: ldc) {
                return
            }
            let matmul = dnnl.matmul(.init(transA: transA == .transposed, transB: transB == .transposed,
                                           m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, alpha: alpha, beta: beta,
                                           bf16: true, shapes: oneDNNShapes, bias: bias != nil))
            dnnl.run(matmul, m: m, n: n, k: k, a: a.storage, b: b.storage, bias: bias, c: c, threads: Parallel.threadCount)
            return
        }
        #endif
        precondition(!a.kernels.isOneDNN, "BF16 inputs converted for oneDNN, which is not loaded")
        var beta = beta
        if let bias {
            precondition(beta == 0 && ldc == n, "a bias row goes with beta 0 and a dense output")
            biasBroadcast(c, bias, T: m, N: n)
            beta = 1
        }
        sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a.storage.assumingMemoryBound(to: Float.self), lda: lda,
              b: b.storage.assumingMemoryBound(to: Float.self), ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Who runs single-precision products: oneDNN on AVX-512 processors, where it measured 10-20% faster than
    /// OpenBLAS on the encoder's shapes; OpenBLAS elsewhere, unless its kernels are narrower than the processor's.
    /// `BERT_TAGGER_FP32_GEMM=openblas|onednn` overrides it.
    public static let fp32Kernels: Kernels = {
        #if canImport(Accelerate)
        return .accelerate
        #else
        let asked = try? fp32Override(ProcessInfo.processInfo.environment)
        return fp32Choice(cpu: .current, oneDNNISA: try? OneDNNLibrary.shared.get().isa, asked: asked ?? nil,
                          openBLASBelowCPU: openBLASBelowCPU)
        #endif
    }()

    /// Whether OpenBLAS runs narrower kernels than this processor's although the tool named the processor's core
    /// (a build of OpenBLAS for one target, which ignores `OPENBLAS_CORETYPE`). A core set by hand is respected
    /// and does not count.
    static var openBLASBelowCPU: Bool {
        #if canImport(Accelerate)
        return false
        #else
        guard case .success(let library) = OpenBLASLibrary.shared, case .fromCPU = library.choice,
              case .below = OpenBLASKernels.verdict(cpu: .current, reportedCore: library.core) else { return false }
        return true
        #endif
    }

    /// The decision behind `fp32Kernels`, for a processor, the instruction set oneDNN targets on it (nil: oneDNN
    /// absent), the library asked for by hand, if any, and whether OpenBLAS's kernels are narrower than the
    /// processor's although the tool named its core: oneDNN on AVX-512, OpenBLAS on AVX2 and below, where
    /// OpenBLAS's Haswell kernels measured faster than oneDNN's AVX2 ones (see the README's figures per processor),
    /// unless OpenBLAS runs narrower kernels than that: then oneDNN, whose kernels follow the processor's
    /// instruction sets, where it is present.
    public static func fp32Choice(cpu: CPUFeatures, oneDNNISA: String?, asked: FP32Library?,
                                  openBLASBelowCPU: Bool = false) -> Kernels {
        let wantsOneDNN = asked.map { $0 == .onednn } ?? (cpu.vectorLevel == .avx512 || openBLASBelowCPU)
        if wantsOneDNN, let oneDNNISA { return .oneDNN(isa: oneDNNISA) }
        return .openBLAS
    }

    /// The single-precision libraries that `BERT_TAGGER_FP32_GEMM` names.
    public enum FP32Library: String, CaseIterable, Sendable {
        case openblas, onednn
    }

    /// The library `BERT_TAGGER_FP32_GEMM` asks for: nil when unset or empty, an error naming the value otherwise.
    public static func fp32Override(_ environment: [String: String]) throws(KernelLibraryError) -> FP32Library? {
        try choiceSetByHand(fp32Variable, in: environment, namesNo: "single-precision library")
    }

    /// The case of `Choice` that `variable` names in `environment` (without regard to case): nil when it is unset or
    /// blank, an error naming the value, what it should name and the accepted values otherwise.
    static func choiceSetByHand<Choice: RawRepresentable & CaseIterable>(
        _ variable: String, in environment: [String: String], namesNo what: String
    ) throws(KernelLibraryError) -> Choice? where Choice.RawValue == String {
        guard let value = environment[variable]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        guard let choice = Choice(rawValue: value.lowercased()) else {
            throw KernelLibraryError(description: "\(variable)=\(value) names no \(what): use "
                                     + Choice.allCases.map(\.rawValue).joined(separator: " or ") + ", or unset it")
        }
        return choice
    }

    /// The variable that names the single-precision library by hand.
    public static let fp32Variable = "BERT_TAGGER_FP32_GEMM"

    private static let fp32OnOneDNN = fp32Kernels.isOneDNN

    /// How inference forwards in single precision multiply by their weights, which stay put from one forward to
    /// the next: `packed`, the tool's kernel on weights laid out once at load (`PackedFP32Weights`), or `library`,
    /// the same calls as training (`fp32Kernels`).
    public enum FP32InferenceProducts: String, CaseIterable, Sendable {
        case packed, library
    }

    /// Who runs inference's single-precision products: the packed kernel where the processor runs it (AVX2 and FMA)
    /// and OpenBLAS runs the other single-precision products, where it measured 1.2-5× faster than OpenBLAS on up
    /// to 64 rows (a sentence) and level on hundreds and thousands (README, Performance); the library elsewhere.
    /// `BERT_TAGGER_FP32_INFERENCE=packed|library` overrides it.
    public static let fp32InferenceProducts: FP32InferenceProducts = {
        let asked = try? fp32InferenceOverride(ProcessInfo.processInfo.environment)
        return fp32InferenceChoice(packedKernelRuns: bt_packed_sgemm_available() != 0, fp32Kernels: fp32Kernels,
                                   asked: asked ?? nil)
    }()

    /// The decision behind `fp32InferenceProducts`: packed where the kernel runs and, unless asked for by hand,
    /// where the single-precision library is OpenBLAS (on an AVX-512 Xeon, tagging on the packed kernel ran at 0.4-0.65 times oneDNN's sentences/s, README).
    public static func fp32InferenceChoice(packedKernelRuns: Bool, fp32Kernels: Kernels,
                                           asked: FP32InferenceProducts?) -> FP32InferenceProducts {
        guard packedKernelRuns else { return .library }
        if let asked { return asked }
        return fp32Kernels == .openBLAS ? .packed : .library
    }

    /// What `BERT_TAGGER_FP32_INFERENCE` asks for: nil when unset or empty, an error naming the value otherwise.
    public static func fp32InferenceOverride(_ environment: [String: String]) throws(KernelLibraryError)
        -> FP32InferenceProducts? {
        try choiceSetByHand(fp32InferenceVariable, in: environment,
                            namesNo: "way to run inference's single-precision products")
    }

    /// The variable that chooses inference's single-precision products by hand.
    public static let fp32InferenceVariable = "BERT_TAGGER_FP32_INFERENCE"

    /// c[m, n] = a[m, k] · weightᵀ + bias (in every row; nil: none), a and c dense, on the packed kernel. Row tiles
    /// are split over the threads on long inputs, the weight's panels on short ones (a sentence), so that both
    /// cores work on one sentence; products too small to be worth waking a thread run on the caller's.
    public static func sgemm(m: Int, a: UnsafePointer<Float>, packed: PackedFP32Weights, bias: UnsafePointer<Float>?,
                             c: UnsafeMutablePointer<Float>) {
        let n = packed.n, k = packed.k
        checkSizes(m, n, k)
        if m == 0 { return }
        let panels = (n + Int(BT_PACKED_PANEL) - 1) / Int(BT_PACKED_PANEL)
        let storage = UnsafePointer(packed.storage)
        // About 200 thousand multiply-adds (a few microseconds) per thread at least.
        let minimumWork = 200_000
        if m >= packedRowSplit {
            let tiles = (m + packedTileRows - 1) / packedTileRows
            Parallel.forEachChunk(tiles, grain: max(1, minimumWork / (packedTileRows * n * k))) { range in
                bt_packed_sgemm(c, n, a, k, storage, bias, n, k, range.lowerBound * packedTileRows,
                                min(m, range.upperBound * packedTileRows), 0, panels)
            }
        } else {
            let perPanel = m * Int(BT_PACKED_PANEL) * k
            Parallel.forEachChunk(panels, grain: max(1, minimumWork / perPanel)) { range in
                bt_packed_sgemm(c, n, a, k, storage, bias, n, k, 0, m, range.lowerBound, range.upperBound)
            }
        }
    }

    /// Whether every product can run on a calling thread alone while others run on other threads, as the lanes of
    /// a forward or backward need (`Parallel.forEachLane`): where oneDNN is loaded, which takes the single-precision
    /// products of a lane too (OpenBLAS keeps one thread pool for the whole process).
    public static var productsRunOnCallingThread: Bool {
        #if canImport(Accelerate)
        return false
        #else
        if case .success = OneDNNLibrary.shared { return true }
        return false
        #endif
    }

    /// The rows of the packed kernel's tile, and the row count from which threads split rows rather than panels.
    static let packedTileRows = Int(BT_PACKED_TILE_ROWS), packedRowSplit = 256

    /// Who runs BF16 products: oneDNN where its BF16 kernels beat the emulation (AMX; AVX512-BF16 on AMD), else the
    /// emulation. `BERT_TAGGER_BF16_GEMM=onednn|emulated` overrides it.
    public static let bf16Kernels: Kernels = {
        #if canImport(Accelerate)
        return .emulatedBF16(reason: "Accelerate offers no BF16 products")
        #else
        let asked = try? bf16Override(ProcessInfo.processInfo.environment)
        return bf16Choice(cpu: .current, oneDNN: OneDNNLibrary.shared.map(\.isa), asked: asked ?? nil)
        #endif
    }()

    /// The decision behind `bf16Kernels`, for a processor, oneDNN's instruction set on it (or why it is absent) and
    /// the library asked for by hand, if any. oneDNN where the processor has AMX, and on AMD processors with
    /// AVX512-BF16 (Zen 4), where one BF16 dot product does the work of two single-precision multiply-adds: on an
    /// AMD EPYC of family 25 model 17, oneDNN 2.6's BF16 products ran at 1.9 times the emulation's rate. On Intel's
    /// AVX512-BF16 without AMX (Cooper Lake; measured with a Xeon's instruction sets capped at `avx512_core_bf16`)
    /// they ran at 0.5-0.6 times the emulation's, so BF16 products are emulated there.
    public static func bf16Choice(cpu: CPUFeatures, oneDNN: Result<String, KernelLibraryError>,
                                  asked: BF16Library? = nil) -> Kernels {
        guard cpu.hasBF16 else { return .emulatedBF16(reason: "the CPU has no BF16 instructions") }
        if asked == .emulated { return .emulatedBF16(reason: "\(bf16Variable)=emulated set by hand") }
        guard cpu.hasAMX || cpu.isAMD || asked == .onednn else {
            return .emulatedBF16(reason: "Intel's AVX512-BF16 without AMX: oneDNN's BF16 products measured slower than this")
        }
        switch oneDNN {
        case .success(let isa): return .oneDNN(isa: isa)
        case .failure(let error): return .emulatedBF16(reason: error.description)
        }
    }

    /// The BF16 libraries that `BERT_TAGGER_BF16_GEMM` names.
    public enum BF16Library: String, CaseIterable, Sendable {
        case onednn, emulated
    }

    /// The variable that names the BF16 library by hand.
    public static let bf16Variable = "BERT_TAGGER_BF16_GEMM"

    /// The library `BERT_TAGGER_BF16_GEMM` asks for: nil when unset or empty, an error naming the value otherwise.
    public static func bf16Override(_ environment: [String: String]) throws(KernelLibraryError) -> BF16Library? {
        try choiceSetByHand(bf16Variable, in: environment, namesNo: "BF16 library")
    }

    /// The number of threads one matrix product may use. OpenBLAS keeps its own pool, sized here;
    /// Accelerate sizes its own and offers no control, so there this reports the core count.
    public static var threadCount: Int {
        #if canImport(Accelerate)
        return ProcessInfoCores.active
        #else
        return Int(openBLAS.getThreads())
        #endif
    }

    static func setThreadCount(_ count: Int) {
        #if !canImport(Accelerate)
        openBLAS.setThreads(Int32(max(1, count)))
        #endif
    }

    @inline(__always)
    static func checkSizes(_ m: Int, _ n: Int, _ k: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0 && m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max),
                     "matrix product sizes out of range: m \(m), n \(n), k \(k)")
    }

    #if !canImport(Accelerate)
    /// The loaded library; a process without one stops here with the message that says how to install it
    /// (commands call `ComputeLibraries.load()` first, which reports it as an error instead).
    private static var openBLAS: OpenBLASLibrary {
        @inline(__always) get {
            switch OpenBLASLibrary.shared {
            case .success(let library): return library
            case .failure(let error): fatalError(error.description)
            }
        }
    }
    #endif
}
