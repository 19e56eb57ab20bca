import Foundation

/// A cap on the instruction sets the tool uses, set with `BERT_TAGGER_MAX_CPU_ISA` and named as oneDNN's
/// `ONEDNN_MAX_CPU_ISA` names them: it makes a processor behave as a lesser one (AVX2 only, AVX-512 without BF16,
/// ...) for every decision the tool takes (OpenBLAS's kernels, the library of each precision, `--precision auto`,
/// the element-wise kernels) and for oneDNN's own kernels, so figures for lesser processors can be measured on
/// this one. It only removes what the processor has; it never adds.
public enum InstructionSetCap: String, CaseIterable, Sendable {
    case sse41, avx, avx2
    case avx512_core, avx512_core_vnni, avx512_core_bf16, avx512_core_amx

    /// The variable; the element-wise kernels read it too (`BT_MAX_CPU_ISA_VARIABLE` in CKernels).
    public static let variable = "BERT_TAGGER_MAX_CPU_ISA"
    /// oneDNN's own cap, set from this one when the user has not set it.
    public static let oneDNNVariable = "ONEDNN_MAX_CPU_ISA"

    /// The instruction sets a processor capped here may keep.
    public var allowed: Set<InstructionSet> {
        let sse: Set<InstructionSet> = [.sse3, .ssse3, .sse4_1, .sse4_2]
        let avx = sse.union([.avx])
        let avx2 = avx.union([.fma, .f16c, .avx2])
        let avx512 = avx2.union([.avx512f, .avx512dq, .avx512cd, .avx512bw, .avx512vl])
        switch self {
        case .sse41: return sse
        case .avx: return avx
        case .avx2: return avx2
        case .avx512_core: return avx512
        case .avx512_core_vnni: return avx512.union([.avx512_vnni])
        case .avx512_core_bf16: return avx512.union([.avx512_vnni, .avx512_bf16])
        case .avx512_core_amx: return Set(InstructionSet.allCases)
        }
    }

    /// The cap the environment sets: nil when unset or empty; an error naming the variable, the value and the
    /// names it takes otherwise.
    public static func fromEnvironment(_ environment: [String: String]) throws(KernelLibraryError) -> InstructionSetCap? {
        guard let value = environment[variable]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        guard let cap = InstructionSetCap(rawValue: value.lowercased()) else {
            throw KernelLibraryError(description: "\(variable)=\(value) is not an instruction-set cap: use one of "
                                     + allCases.map(\.rawValue).joined(separator: ", ") + ", or unset it")
        }
        return cap
    }

    /// The cap of this process (a value that is not a cap counts as none here; `ComputeLibraries.load()` reports it).
    public static let current: InstructionSetCap? = try? fromEnvironment(ProcessInfo.processInfo.environment)
}

extension CPUFeatures {
    /// The processor as a lesser one: only the instruction sets `cap` allows.
    public func capped(by cap: InstructionSetCap?) -> CPUFeatures {
        guard let cap else { return self }
        var capped = self
        capped.instructionSets = instructionSets.intersection(cap.allowed)
        return capped
    }
}
