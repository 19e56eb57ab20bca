import Foundation

/// One library path that can run the encoder's products, for the benchmark that compares them on this machine.
/// BF16 candidates take single-precision inputs and include their conversion, as the model uses them.
public struct GEMMCandidate: Sendable {
    public typealias Multiply = @Sendable (_ transA: BLAS.Transpose, _ transB: BLAS.Transpose, _ m: Int, _ n: Int,
                                           _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
                                           _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                                           _ scratch: GEMMScratch) -> Void

    public let name: String
    public let precision: GEMMPrecision
    /// Whether the tool runs this precision's products with this candidate.
    public let inUse: Bool
    public let multiply: Multiply
    /// The BF16 kernels the candidate runs, which size its scratch (nil for single precision).
    let bf16Kernels: BLAS.Kernels?

    init(name: String, precision: GEMMPrecision, inUse: Bool, bf16Kernels: BLAS.Kernels? = nil, multiply: @escaping Multiply) {
        self.name = name
        self.precision = precision
        self.inUse = inUse
        self.bf16Kernels = bf16Kernels
        self.multiply = multiply
    }

    /// A scratch for this candidate's products with inputs of up to `capacity` values.
    public func makeScratch(capacity: Int) -> GEMMScratch {
        GEMMScratch(capacity: capacity, kernels: bf16Kernels ?? BLAS.bf16Kernels)
    }

    /// Every candidate present: the kernels in use, oneDNN's single-precision products, the BF16 emulation, and
    /// MKL's products when `mklLibrary` (a path to libmkl_rt) loads.
    public static func available(mklLibrary: String?) -> (candidates: [GEMMCandidate], notes: [String]) {
        var list: [GEMMCandidate] = []
        var notes: [String] = []
        #if canImport(Accelerate)
        let blasName = "Accelerate"
        #else
        let blasName = (try? OpenBLASLibrary.shared.get().name) ?? "OpenBLAS"
        #endif
        list.append(GEMMCandidate(name: blasName, precision: .fp32, inUse: !BLAS.fp32Kernels.isOneDNN) {
            ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, _ in
            #if canImport(Accelerate)
            BLAS.sgemm(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            #else
            OpenBLASLibrary.run(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            #endif
        })
        #if !canImport(Accelerate)
        switch OneDNNLibrary.shared {
        case .success(let dnnl):
            list.append(GEMMCandidate(name: "oneDNN \(dnnl.version) sgemm", precision: .fp32,
                                      inUse: BLAS.fp32Kernels == .oneDNN(isa: dnnl.isa)) {
                ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, _ in
                dnnl.sgemm(ta == .transposed, tb == .transposed, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b,
                           ldb: ldb, beta: beta, c: c, ldc: ldc, threads: Parallel.threadCount)
            })
            if CPUFeatures.current.hasBF16 {
                for shapes in [BLAS.OneDNNShapes.any, .each] {
                    let kind = shapes == .any ? "a primitive for any shape" : "a primitive per shape"
                    list.append(GEMMCandidate(name: "oneDNN \(dnnl.version) matmul, \(kind) (\(dnnl.isa))", precision: .bf16,
                                              inUse: BLAS.bf16Kernels == .oneDNN(isa: dnnl.isa) && BLAS.bf16Products == .onednn
                                                  && shapes == BLAS.defaultOneDNNShapes,
                                              bf16Kernels: .oneDNN(isa: dnnl.isa)) {
                        ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, scratch in
                        BLAS.gemm(.bf16, ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                                  scratch: scratch, bf16Kernels: .oneDNN(isa: dnnl.isa), oneDNNShapes: shapes,
                                  products: .onednn)
                    })
                }
                if let kernel = BLAS.bf16KernelName {
                    list.append(GEMMCandidate(name: kernel, precision: .bf16,
                                              inUse: BLAS.bf16Products == .amx, bf16Kernels: .oneDNN(isa: dnnl.isa)) {
                        ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, scratch in
                        BLAS.gemm(.bf16, ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                                  scratch: scratch, bf16Kernels: .oneDNN(isa: dnnl.isa), products: .amx)
                    })
                }
            } else {
                notes.append("oneDNN BF16: this CPU has no BF16 instructions")
            }
        case .failure(let error):
            notes.append(error.description)
        }
        #endif
        let emulation = BLAS.Kernels.emulatedBF16(reason: "benchmark")
        list.append(GEMMCandidate(name: "BF16 emulated in fp32",
                                  precision: .bf16, inUse: BLAS.bf16Kernels.isEmulated,
                                  bf16Kernels: emulation) {
            ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, scratch in
            BLAS.gemm(.bf16, ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                      scratch: scratch, bf16Kernels: emulation)
        })
        if let mklLibrary {
            switch MKLLibrary.load(mklLibrary) {
            case .success(let mkl):
                mkl.setThreads(Int32(Parallel.threadCount))
                list.append(GEMMCandidate(name: "MKL \(mkl.version) sgemm", precision: .fp32, inUse: false) {
                    ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, _ in
                    mkl.sgemm(101, ta == .none ? 111 : 112, tb == .none ? 111 : 112, Int32(m), Int32(n), Int32(k), 1,
                              a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
                })
                if let bf16 = mkl.gemmBF16 {
                    list.append(GEMMCandidate(name: "MKL \(mkl.version) gemm_bf16bf16f32", precision: .bf16, inUse: false,
                                              bf16Kernels: .emulatedBF16(reason: "MKL's bfloat16 in single-precision areas")) {
                        ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, scratch in
                        let countA = (ta == .none ? m : k) * lda, countB = (tb == .none ? k : n) * ldb
                        let a16 = scratch.a.storage.assumingMemoryBound(to: UInt16.self)
                        let b16 = scratch.b.storage.assumingMemoryBound(to: UInt16.self)
                        convertToBFloat16(a16, a, count: countA)
                        convertToBFloat16(b16, b, count: countB)
                        bf16(101, ta == .none ? 111 : 112, tb == .none ? 111 : 112, Int32(m), Int32(n), Int32(k), 1,
                             a16, Int32(lda), b16, Int32(ldb), beta, c, Int32(ldc))
                    })
                }
            case .failure(let error):
                notes.append(error.description)
            }
        }
        return (list, notes)
    }
}

/// Intel MKL's single dynamic library (libmkl_rt), loaded from a path for the benchmark only.
final class MKLLibrary: @unchecked Sendable {
    typealias Sgemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias GemmBF16 = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<UInt16>?, Int32,
                                         UnsafePointer<UInt16>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetVersion = @convention(c) (UnsafeMutablePointer<CChar>?, Int32) -> Void

    let sgemm: Sgemm
    let gemmBF16: GemmBF16?
    let setThreads: SetThreads
    let version: String

    private init(sgemm: Sgemm, gemmBF16: GemmBF16?, setThreads: SetThreads, version: String) {
        self.sgemm = sgemm
        self.gemmBF16 = gemmBF16
        self.setThreads = setThreads
        self.version = version
    }

    static func load(_ path: String) -> Result<MKLLibrary, KernelLibraryError> {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(KernelLibraryError(description: "MKL: \(dlerror().map { String(cString: $0) } ?? path)"))
        }
        guard let sgemm = dlsym(handle, "cblas_sgemm"), let threads = dlsym(handle, "MKL_Set_Num_Threads") else {
            return .failure(KernelLibraryError(description: "MKL: \(path) has no cblas_sgemm or MKL_Set_Num_Threads"))
        }
        var version = "?"
        if let get = dlsym(handle, "MKL_Get_Version_String") {
            var text = [CChar](repeating: 0, count: 256)
            unsafeBitCast(get, to: GetVersion.self)(&text, 256)
            version = String(cString: text).components(separatedBy: " ").first { $0.first?.isNumber == true } ?? "?"
        }
        return .success(MKLLibrary(sgemm: unsafeBitCast(sgemm, to: Sgemm.self),
                                   gemmBF16: dlsym(handle, "cblas_gemm_bf16bf16f32").map { unsafeBitCast($0, to: GemmBF16.self) },
                                   setThreads: unsafeBitCast(threads, to: SetThreads.self), version: version))
    }
}
