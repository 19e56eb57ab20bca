#if !canImport(Accelerate)
import Foundation

/// A kernel library the process needs and could not load.
public struct KernelLibraryError: Error, CustomStringConvertible {
    public let description: String
}

/// OpenBLAS, loaded by the process itself rather than linked, so that the kernels it runs are named before
/// its initialisation reads `OPENBLAS_CORETYPE` (see `OpenBLASKernels`).
final class OpenBLASLibrary: @unchecked Sendable {
    typealias Sgemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetInt = @convention(c) () -> Int32
    typealias GetString = @convention(c) () -> UnsafePointer<CChar>?

    /// The sonames tried in order: Debian's and most distributions' runtime package, then a development link.
    static let candidates = ["libopenblas.so.0", "libopenblas.so"]

    let sgemm: Sgemm
    let setThreads: SetThreads
    let getThreads: GetInt
    let path: String
    let config: String
    let core: String
    let choice: OpenBLASKernels.Choice
    let threadWait: OpenBLASThreadWait.Choice

    /// "0.3.21", the second word of `openblas_get_config`.
    var version: String { config.split(separator: " ").dropFirst().first.map(String.init) ?? "?" }
    /// "OpenBLAS 0.3.21, Cooperlake kernels".
    var name: String { "OpenBLAS \(version), \(core) kernels" }

    /// A single-precision product on OpenBLAS whatever library `BLAS` uses (for the benchmark comparing them).
    static func run(_ transA: BLAS.Transpose, _ transB: BLAS.Transpose, m: Int, n: Int, k: Int,
                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard case .success(let library) = shared else { return }
        library.sgemm(101, transA == .none ? 111 : 112, transB == .none ? 111 : 112, Int32(m), Int32(n), Int32(k), 1,
                      a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The library of this process, loaded at first use.
    static let shared: Result<OpenBLASLibrary, KernelLibraryError> = Result { () throws(KernelLibraryError) in
        try OpenBLASLibrary(cpu: .current, environment: ProcessInfo.processInfo.environment)
    }

    private init(cpu: CPUFeatures, environment: [String: String]) throws(KernelLibraryError) {
        let choice = OpenBLASKernels.choice(for: cpu, environment: environment)
        let threadWait = OpenBLASThreadWait.choice(environment: environment)
        // OpenBLAS reads these variables while it loads; the process's environment is put back afterwards, so
        // programs it starts see what the user set, not the tool's choices.
        var settings: [String: String] = [:]
        if case .fromCPU(let core) = choice { settings[OpenBLASKernels.environmentVariable] = core }
        if case .fromTool(let exponent) = threadWait { settings[OpenBLASThreadWait.environmentVariable] = String(exponent) }
        for (variable, value) in settings { setenv(variable, value, 1) }
        defer { for variable in settings.keys { unsetenv(variable) } }
        var handle: UnsafeMutableRawPointer?
        var failures: [String] = []
        var loadedName = ""
        for name in Self.candidates {
            handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
            if handle != nil { loadedName = name; break }
            failures.append(dlerror().map { String(cString: $0) } ?? name)
        }
        path = loadedName
        guard let handle else {
            throw KernelLibraryError(description:
                "OpenBLAS was not found (\(failures.joined(separator: "; "))): install it with "
                + "`apt-get install libopenblas0` (bash Scripts/setup.sh does)")
        }
        func symbol<F>(_ name: String, as _: F.Type) throws(KernelLibraryError) -> F {
            guard let address = dlsym(handle, name) else {
                throw KernelLibraryError(description: "\(loadedName) has no \(name): it is not an OpenBLAS build this tool can use")
            }
            return unsafeBitCast(address, to: F.self)
        }
        sgemm = try symbol("cblas_sgemm", as: Sgemm.self)
        setThreads = try symbol("openblas_set_num_threads", as: SetThreads.self)
        getThreads = try symbol("openblas_get_num_threads", as: GetInt.self)
        let getConfig = try symbol("openblas_get_config", as: GetString.self)
        let getCore = try symbol("openblas_get_corename", as: GetString.self)
        config = getConfig().map { String(cString: $0) } ?? ""
        core = getCore().map { String(cString: $0) } ?? ""
        self.choice = choice
        self.threadWait = threadWait
    }
}
#endif
