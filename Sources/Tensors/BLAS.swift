// The one place that knows which BLAS the platform has: Accelerate on Apple platforms, OpenBLAS
// (through the CBLAS system module) elsewhere.
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Row-major single-precision matrix products, with transposes expressed as flags rather than copies.
public enum BLAS {
    public enum Transpose: Sendable {
        case none, transposed

        fileprivate var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// c[m,n] = alpha · op(a)[m,k] · op(b)[k,n] + beta · c[m,n], all row-major with leading dimensions
    /// (row strides) lda, ldb, ldc, so a head's columns inside a wider matrix are a strided view.
    @inline(__always)
    public static func sgemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0 && m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max),
                     "sgemm sizes out of range: m \(m), n \(n), k \(k)")
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The number of threads one matrix product may use. OpenBLAS keeps its own pool, sized here;
    /// Accelerate sizes its own and offers no control, so there this reports the core count.
    public static var threadCount: Int {
        #if canImport(Accelerate)
        return ProcessInfoCores.active
        #else
        return Int(openblas_get_num_threads())
        #endif
    }

    public static func setThreadCount(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(max(1, count)))
        #endif
    }
}
