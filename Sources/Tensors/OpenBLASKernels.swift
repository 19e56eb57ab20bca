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
        if let set = environment[environmentVariable], !set.trimmingCharacters(in: .whitespaces).isEmpty {
            return .byHand(set)
        }
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
