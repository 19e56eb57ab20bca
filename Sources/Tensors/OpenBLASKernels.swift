import Foundation

/// How OpenBLAS's kernels are chosen for this process.
///
/// OpenBLAS picks its kernels (its "core") once, while it loads, from a table of processor models; a model
/// newer than its release falls back to SSE3 ("Prescott") kernels several times slower, without a word.
/// The tool instead names the core from the processor's own instruction sets, through the
/// `OPENBLAS_CORETYPE` variable OpenBLAS reads at load, and checks afterwards what it runs.
public enum OpenBLASKernels {
    public static let environmentVariable = "OPENBLAS_CORETYPE"

    /// Where the core came from.
    public enum Choice: Equatable, Sendable {
        /// `OPENBLAS_CORETYPE` was already set; it is respected as it is.
        case byHand(String)
        /// Named by the tool from the processor's instruction sets.
        case fromCPU(String)

        public var core: String {
            switch self {
            case .byHand(let core), .fromCPU(let core): return core
            }
        }
    }

    /// What the kernels OpenBLAS reports mean for this processor.
    public enum Verdict: Equatable, Sendable {
        /// The widest kernels the processor can run.
        case full
        /// Narrower kernels than the processor runs: products are slower than they need be.
        case below(kernel: VectorLevel, cpu: VectorLevel)
        /// A core name this table does not know; nothing can be said.
        case unknown(String)
    }

    /// The core for a processor: the widest kernels its instruction sets allow, named as OpenBLAS names them
    /// (it compares names without regard to case).
    public static func core(for cpu: CPUFeatures) -> String {
        switch cpu.vectorLevel {
        case .avx512: return cpu.has(.avx512_bf16) ? "COOPERLAKE" : "SKYLAKEX"
        case .avx2: return cpu.isAMD ? "ZEN" : "HASWELL"
        case .avx: return cpu.isAMD ? "BULLDOZER" : "SANDYBRIDGE"
        case .sse3: return cpu.has(.sse4_2) ? "NEHALEM" : "PRESCOTT"
        }
    }

    /// The decision taken before OpenBLAS loads: respect a core set by hand (an empty value counts as unset),
    /// otherwise name the one the processor supports.
    public static func choice(for cpu: CPUFeatures, environment: [String: String]) -> Choice {
        if let set = valueSetByHand(environmentVariable, in: environment) { return .byHand(set) }
        return .fromCPU(core(for: cpu))
    }

    /// The vector kernels behind a core name as `openblas_get_corename` reports it, or nil for a name not
    /// in the table.
    public static func vectorLevel(ofCore name: String) -> VectorLevel? {
        switch name.lowercased() {
        case "cooperlake", "skylakex", "sapphirerapids": return .avx512
        case "haswell", "zen", "excavator": return .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return .avx
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "barcelona", "bobcat", "nano",
             "opteron", "opteron(sse3)", "athlon", "katmai", "coppermine", "northwood", "banias":
            return .sse3
        default: return nil
        }
    }

    /// Compares the kernels OpenBLAS runs with what the processor supports.
    public static func verdict(cpu: CPUFeatures, reportedCore: String) -> Verdict {
        guard let kernel = vectorLevel(ofCore: reportedCore) else { return .unknown(reportedCore) }
        return kernel < cpu.vectorLevel ? .below(kernel: kernel, cpu: cpu.vectorLevel) : .full
    }
}

/// How long OpenBLAS's idle worker threads keep asking for work before they sleep.
///
/// Between two products OpenBLAS's workers spin on `sched_yield` for 2^28 processor cycles (about a tenth of a
/// second) by default, so while the tool's own element-wise kernels run on every core, those workers keep taking
/// turns on the same cores. The tool has them sleep after 2^16 cycles (tens of microseconds: long enough to
/// catch a product that follows another at once) through `OPENBLAS_THREAD_TIMEOUT`, which OpenBLAS reads at load,
/// unless that variable is already set. On a 2-core AMD EPYC (AVX2) this made training steps faster in 9 of 10
/// interleaved pairs (medians 1.07× and 1.10× in two sets of five) and left tagging level.
public enum OpenBLASThreadWait {
    public static let environmentVariable = "OPENBLAS_THREAD_TIMEOUT"
    /// The tool's setting: workers sleep after 2^16 cycles without work (OpenBLAS accepts 4–30).
    public static let exponent = 16

    public enum Choice: Equatable, Sendable {
        /// `OPENBLAS_THREAD_TIMEOUT` was already set; OpenBLAS reads it as it is.
        case byHand(String)
        /// Set by the tool to `exponent`.
        case fromTool(Int)
    }

    /// Respects a value set by hand (an empty one counts as unset), otherwise the tool's.
    public static func choice(environment: [String: String]) -> Choice {
        if let set = valueSetByHand(environmentVariable, in: environment) { return .byHand(set) }
        return .fromTool(exponent)
    }
}

/// The value of an OpenBLAS variable the user set, or nil when it is unset or blank (which counts as unset).
private func valueSetByHand(_ variable: String, in environment: [String: String]) -> String? {
    guard let value = environment[variable], !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
    return value
}
