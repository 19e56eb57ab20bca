import CKernels
import Foundation

/// What runs the matrix products of this process: the processor, the libraries and their kernels, the threads.
/// Commands call `load()` before any work, so a missing library is an error message rather than a stop, and
/// print `summary` so every figure comes with the machine that produced it.
public enum ComputeLibraries {
    /// Loads the kernel libraries; throws the error that says how to install one that is missing.
    public static func load() throws {
        let environment = ProcessInfo.processInfo.environment
        _ = try InstructionSetCap.fromEnvironment(environment)
        _ = try BLAS.fp32Override(environment)
        _ = try BLAS.bf16Override(environment)
        _ = try BLAS.fp32InferenceOverride(environment)
        _ = try BLAS.bf16ProductsOverride(environment)
        _ = try BLAS.int8ProductsOverride(environment)
        #if !canImport(Accelerate)
        _ = try OpenBLASLibrary.shared.get()
        #endif
    }

    /// Who runs single-precision products: "oneDNN 2.6.3 (JIT kernels up to avx512_core_amx)" or the OpenBLAS
    /// description.
    public static var fp32Description: String {
        if case .oneDNN(let isa) = BLAS.fp32Kernels { return oneDNNDescription(isa: isa) }
        return blasDescription
    }

    /// How inference's single-precision products run: "the tool's AVX2 kernel on weights packed once at load" or
    /// "as training's", with who chose it.
    public static var fp32InferenceDescription: String {
        let products = BLAS.fp32InferenceProducts
        let text = products == .packed ? "the tool's AVX2 kernel on weights packed once at load" : "as training's"
        let asked = (try? BLAS.fp32InferenceOverride(ProcessInfo.processInfo.environment)) ?? nil
        if let asked, asked == products { return text + " (\(BLAS.fp32InferenceVariable)=\(asked.rawValue) set by hand)" }
        guard products == .library else { return text }
        if bt_packed_sgemm_available() == 0 { return text + " (the packed kernel needs AVX2 and FMA)" }
        return text + " (\(fp32Description) runs single precision here; the packed kernel, AVX2 only, tagged at 0.4-0.65 times its speed on an AVX-512 Xeon)"
    }

    /// Who runs BF16 products in training and in inference, where BF16 products run on oneDNN: "training: the
    /// tool's AMX kernel; inference: the tool's AMX kernel on weights packed once at load, every row (the products a
    /// LayerNorm or the activation follows in blocks of 64 rows, each followed by its pass)".
    public static var bf16ProductsDescription: String {
        let byHand = BLAS.bf16ProductsAsked.map { " (\(BLAS.bf16ProductsVariable)=\($0.rawValue) set by hand)" } ?? ""
        let notGranted = CPUFeatures.current.hasAMX && BLAS.bf16Kernels.isOneDNN && !BLAS.amxRuns
            ? " (Linux did not grant the AMX tiles to the tool's kernel)" : ""
        guard let kernel = BLAS.bf16KernelName else { return "oneDNN's primitives" + notGranted + byHand }
        let training = BLAS.bf16Products != .amx ? "oneDNN's primitive for any shape"
            : BLAS.amxRuns ? kernel : "\(kernel) in the forward, oneDNN's primitive for any shape in the backward"
        guard BLAS.inferenceProducts == .amx else {
            return "training: \(training); inference: oneDNN's packed primitive in blocks of \(BLAS.rowBlock) rows, the "
                + "rows left over on its primitive for any shape\(notGranted)\(byHand)"
        }
        return "training: \(training); inference: \(kernel) on weights packed once at load, every row (the "
            + "products a LayerNorm or the activation follows in blocks of \(BLAS.epilogueRows) rows, each followed by "
            + "its pass)\(notGranted)\(byHand)"
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
                text += "; WARNING: \(kernel) kernels on an \(cpu) processor: "
                if case .byHand = library.choice {
                    text += "matrix products run slower than they could"
                } else if BLAS.fp32Kernels.isOneDNN {
                    text += "this OpenBLAS ignores OPENBLAS_CORETYPE, so single-precision products run on oneDNN"
                } else {
                    text += "this OpenBLAS ignores OPENBLAS_CORETYPE and oneDNN, which would run the processor's "
                        + "kernels, is not installed (apt-get install libdnnl-dev): matrix products run slower than "
                        + "they could"
                }
            }
            return text
        }
        #endif
    }

    /// "oneDNN 2.6.3 (JIT kernels up to avx512_core_bf16)", with oneDNN's cap set by hand or a warning
    /// (`OneDNNLibrary.kernelsDescription`).
    private static func oneDNNDescription(isa: String) -> String {
        guard case .success(let dnnl) = OneDNNLibrary.shared else { return "oneDNN ? (JIT kernels up to \(isa))" }
        return "oneDNN \(dnnl.version) (\(dnnl.kernelsDescription))"
    }

    /// "oneDNN 2.6.3 (JIT kernels up to avx512_core_amx)", or why BF16 products are emulated.
    public static var bf16Description: String {
        switch BLAS.bf16Kernels {
        case .oneDNN(let isa): return oneDNNDescription(isa: isa)
        case .emulatedBF16(let reason): return "emulated in single precision (\(reason))"
        case .openBLAS: return "OpenBLAS"
        case .accelerate: return "Accelerate"
        }
    }

    /// Who runs INT8 products (`--precision int8`): "oneDNN 2.6.3 (JIT kernels up to avx512_core_amx)", or why
    /// they do not run here.
    public static var int8Description: String {
        #if canImport(Accelerate)
        return "not available (they run on oneDNN)"
        #else
        switch OneDNNLibrary.shared {
        case .failure(let error): return "not available: \(error.description)"
        case .success(let dnnl):
            let kernels = "oneDNN \(dnnl.version) (\(dnnl.kernelsDescription))"
            guard BLAS.int8Runs else {
                return "not available: \(kernels) has no VNNI or AMX here, and its 8-bit products without them are not exact"
            }
            let byHand = BLAS.int8ProductsAsked.map { asked in
                " (\(BLAS.int8ProductsVariable)=\(asked.rawValue) set by hand"
                    + (asked == BLAS.int8Products ? ")" : ", but the processor has no AVX-512 with VNNI for the kernel)")
            } ?? ""
            return (BLAS.int8Products == .vnni ? "the tool's AVX512-VNNI kernel on weights packed once at load" : kernels)
                + byHand
        }
        #endif
    }

    /// The variant of the element-wise kernels this process runs: "AVX-512", "AVX2" or "baseline".
    public static var elementwiseDescription: String { ElementwiseVariant.current.description }

    /// "capped at avx2 by BERT_TAGGER_MAX_CPU_ISA", or nil when nothing caps the instruction sets.
    public static var capDescription: String? {
        InstructionSetCap.current.map { "capped at \($0.rawValue) by \(InstructionSetCap.variable)" }
    }

    /// One line for logs and benchmark headers.
    public static var summary: String {
        let cpu = CPUFeatures.current
        return "CPU \(cpu.identity) [\(cpu.summary)\(capDescription.map { "; " + $0 } ?? "")]; "
            + "fp32 products: \(fp32Description); fp32 inference: \(fp32InferenceDescription); "
            + "bf16 products: \(bf16Description)"
            + (BLAS.bf16Kernels.isOneDNN ? " (\(bf16ProductsDescription))" : "")
            + "; int8 products: \(!BLAS.int8Runs ? "not available" : BLAS.int8Products == .vnni ? "the tool's AVX512-VNNI kernel" : "oneDNN")"
            + "; \(Parallel.threadCount) thread\(Parallel.threadCount == 1 ? "" : "s")\(blasThreadsDescription)"
    }

    /// ", OpenBLAS's pool 4" where OpenBLAS's own thread count differs from the tool's (`OPENBLAS_NUM_THREADS` set
    /// it and no command has set the count since); empty where they agree or OpenBLAS is absent.
    static var blasThreadsDescription: String {
        #if canImport(Accelerate)
        return ""
        #else
        guard case .success = OpenBLASLibrary.shared, BLAS.threadCount != Parallel.threadCount else { return "" }
        return ", OpenBLAS's pool \(BLAS.threadCount)"
        #endif
    }

    /// The full description, one fact a line, for `bert-tagger info`.
    public static var report: [String] {
        let cpu = CPUFeatures.current
        var lines = [
            "CPU: \(cpu.identity)",
            "  instruction sets: \(cpu.summary)"
                + (capDescription.map { " (\($0); the processor has \(CPUFeatures.detected.summary))" } ?? ""),
            "  vector kernels: \(cpu.vectorLevel); BF16 hardware: "
                + (cpu.hasAMX ? "AMX and AVX512-BF16" : cpu.hasBF16 ? "AVX512-BF16" : "none"),
            "  cores: \(ProcessInfoCores.active)",
            "fp32 products: \(fp32Description)",
            "  in inference: \(fp32InferenceDescription)",
            "OpenBLAS: \(blasDescription)",
        ]
        #if !canImport(Accelerate)
        if case .success(let library) = OpenBLASLibrary.shared {
            lines.append("  library: \(library.path) (\(library.config))")
            switch library.threadWait {
            case .fromTool(let exponent):
                lines.append("  idle workers: sleep after 2^\(exponent) cycles without work "
                             + "(\(OpenBLASThreadWait.environmentVariable)=\(exponent), set by the tool)")
            case .byHand(let value):
                lines.append("  idle workers: \(OpenBLASThreadWait.environmentVariable)=\(value) set by hand")
            }
        }
        #endif
        lines.append("BF16 products: \(bf16Description)")
        if BLAS.bf16Kernels.isOneDNN { lines.append("  kernels: \(bf16ProductsDescription)") }
        lines.append("INT8 products (tagging): \(int8Description)")
        lines.append("element-wise kernels: \(elementwiseDescription)")
        lines.append("threads: \(Parallel.threadCount)\(blasThreadsDescription)")
        return lines
    }
}

extension ComputeLibraries {
    /// What the cache of oneDNN's matrix-product primitives has done in this process (nil without oneDNN).
    public static var primitiveCacheStatistics: PrimitiveCacheStatistics? {
        #if canImport(Accelerate)
        return nil
        #else
        return (try? OneDNNLibrary.shared.get())?.cacheStatistics
        #endif
    }
}

/// The compiled variants of the element-wise kernels (CKernels), widest last.
public enum ElementwiseVariant: Int, Comparable, Sendable, CustomStringConvertible {
    case baseline, avx2, avx512

    /// The variant this process runs, chosen by CKernels at its first call.
    public static var current: ElementwiseVariant { ElementwiseVariant(level: bt_kernels_level()) }

    /// The variant CKernels picks for a processor whose widest variant is `detected`, under a cap given as the
    /// value of `BERT_TAGGER_MAX_CPU_ISA` (nil: none).
    static func chosen(detected: ElementwiseVariant, cap: String?) -> ElementwiseVariant {
        ElementwiseVariant(level: bt_kernels_level_for(Int32(detected.rawValue), cap))
    }

    /// The variant for a processor's instruction sets, as CKernels detects them (AVX-512 BW, or AVX2).
    static func widest(for cpu: CPUFeatures) -> ElementwiseVariant {
        cpu.has(.avx512bw) ? .avx512 : cpu.has(.avx2) && cpu.has(.fma) ? .avx2 : .baseline
    }

    private init(level: Int32) {
        switch Int(level) {
        case BT_KERNELS_AVX512: self = .avx512
        case BT_KERNELS_AVX2: self = .avx2
        default: self = .baseline
        }
    }

    public static func < (a: ElementwiseVariant, b: ElementwiseVariant) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .baseline: return "baseline"
        case .avx2: return "AVX2"
        case .avx512: return "AVX-512"
        }
    }
}
