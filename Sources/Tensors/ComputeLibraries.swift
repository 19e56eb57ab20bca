/// What runs the matrix products of this process: the processor, the libraries and their kernels, the threads.
/// Commands call `load()` before any work, so a missing library is an error message rather than a stop, and
/// print `summary` so every figure comes with the machine that produced it.
public enum ComputeLibraries {
    /// Loads the kernel libraries; throws the error that says how to install one that is missing.
    public static func load() throws {
        #if !canImport(Accelerate)
        _ = try OpenBLASLibrary.shared.get()
        #endif
    }

    /// Who runs single-precision products: "oneDNN 2.6.3 (JIT kernels up to avx512_core_amx)" or the OpenBLAS
    /// description.
    public static var fp32Description: String {
        if case .oneDNN(let isa) = BLAS.fp32Kernels {
            return "oneDNN \((try? OneDNNLibrary.shared.get().version) ?? "?") (JIT kernels up to \(isa))"
        }
        return blasDescription
    }

    /// "OpenBLAS 0.3.21, Cooperlake kernels (named from the CPU's instruction sets)".
    public static var blasDescription: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        switch OpenBLASLibrary.shared {
        case .failure(let error): return "no BLAS: \(error.description)"
        case .success(let library):
            let how: String
            switch library.choice {
            case .fromCPU: how = "named from the CPU's instruction sets"
            case .byHand(let core): how = "OPENBLAS_CORETYPE=\(core) set by hand"
            }
            var text = "\(library.name) (\(how))"
            if case .below(let kernel, let cpu) = OpenBLASKernels.verdict(cpu: .current, reportedCore: library.core) {
                text += "; WARNING: \(kernel) kernels on an \(cpu) processor: matrix products run slower than they could"
            }
            return text
        }
        #endif
    }

    /// "oneDNN 2.6.3 (JIT kernels up to avx512_core_amx)", or why BF16 products are emulated.
    public static var bf16Description: String {
        switch BLAS.bf16Kernels {
        case .oneDNN(let isa):
            let version = (try? OneDNNLibrary.shared.get().version) ?? "?"
            return "oneDNN \(version) (JIT kernels up to \(isa))"
        case .emulatedBF16(let reason): return "emulated in single precision (\(reason))"
        case .openBLAS: return "OpenBLAS"
        case .accelerate: return "Accelerate"
        }
    }

    /// One line for logs and benchmark headers.
    public static var summary: String {
        let cpu = CPUFeatures.current
        return "CPU \(cpu.identity) [\(cpu.summary)]; fp32 products: \(fp32Description); "
            + "bf16 products: \(bf16Description); \(Parallel.threadCount) thread\(Parallel.threadCount == 1 ? "" : "s")"
    }

    /// The full description, one fact a line, for `bert-tagger info`.
    public static var report: [String] {
        let cpu = CPUFeatures.current
        var lines = [
            "CPU: \(cpu.identity)",
            "  instruction sets: \(cpu.summary)",
            "  vector kernels: \(cpu.vectorLevel); BF16 hardware: "
                + (cpu.hasAMX ? "AMX and AVX512-BF16" : cpu.hasBF16 ? "AVX512-BF16" : "none"),
            "  cores: \(ProcessInfoCores.active)",
            "fp32 products: \(fp32Description)",
            "OpenBLAS: \(blasDescription)",
        ]
        #if !canImport(Accelerate)
        if case .success(let library) = OpenBLASLibrary.shared {
            lines.append("  library: \(library.path) (\(library.config))")
        }
        #endif
        lines.append("BF16 products: \(bf16Description)")
        lines.append("threads: \(Parallel.threadCount)")
        return lines
    }
}
