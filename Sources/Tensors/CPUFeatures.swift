#if canImport(CCPUFeatures)
import CCPUFeatures
#endif
import Foundation

/// An instruction-set extension, named as Linux's /proc/cpuinfo names it.
public enum InstructionSet: String, CaseIterable, Sendable, Comparable {
    case sse3, ssse3, sse4_1, sse4_2
    case avx, fma, f16c, avx2
    case avx512f, avx512dq, avx512cd, avx512bw, avx512vl
    case avx512_vnni, avx512_bf16, avx512_fp16
    case amx_tile, amx_bf16, amx_int8

    public static func < (a: InstructionSet, b: InstructionSet) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The widest family of single-precision vector kernels a processor can run, in increasing order.
public enum VectorLevel: Int, Comparable, Sendable, CustomStringConvertible {
    case sse3, avx, avx2, avx512

    public static func < (a: VectorLevel, b: VectorLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .sse3: return "SSE3"
        case .avx: return "AVX"
        case .avx2: return "AVX2"
        case .avx512: return "AVX-512"
        }
    }
}

/// The processor this process runs on: identity and the instruction sets that both the processor and the
/// operating system support (an extension whose registers the OS does not save is absent).
public struct CPUFeatures: Sendable, Equatable {
    public var vendor: String
    public var brand: String
    public var family: Int
    public var model: Int
    public var stepping: Int
    public var instructionSets: Set<InstructionSet>

    public init(vendor: String, brand: String = "", family: Int, model: Int, stepping: Int = 0,
                instructionSets: Set<InstructionSet>) {
        self.vendor = vendor
        self.brand = brand
        self.family = family
        self.model = model
        self.stepping = stepping
        self.instructionSets = instructionSets
    }

    /// The processor as the tool treats it: what it detected, less what `BERT_TAGGER_MAX_CPU_ISA` caps
    /// (`InstructionSetCap`). Every kernel and library decision reads this.
    public static let current: CPUFeatures = detected.capped(by: InstructionSetCap.current)

    /// Read once from CPUID and XCR0.
    public static let detected: CPUFeatures = {
        #if canImport(CCPUFeatures)
        var raw = bt_cpu_features()
        bt_cpu_features_read(&raw)
        let vendor = withUnsafeBytes(of: raw.vendor) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let brand = withUnsafeBytes(of: raw.brand) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let flags: [(Bool, InstructionSet)] = [
            (raw.sse3, .sse3), (raw.ssse3, .ssse3), (raw.sse41, .sse4_1), (raw.sse42, .sse4_2),
            (raw.avx, .avx), (raw.fma, .fma), (raw.f16c, .f16c), (raw.avx2, .avx2),
            (raw.avx512f, .avx512f), (raw.avx512dq, .avx512dq), (raw.avx512cd, .avx512cd),
            (raw.avx512bw, .avx512bw), (raw.avx512vl, .avx512vl), (raw.avx512vnni, .avx512_vnni),
            (raw.avx512bf16, .avx512_bf16), (raw.avx512fp16, .avx512_fp16),
            (raw.amxTile, .amx_tile), (raw.amxBF16, .amx_bf16), (raw.amxInt8, .amx_int8),
        ]
        return CPUFeatures(vendor: vendor, brand: brand.trimmingCharacters(in: .whitespaces), family: Int(raw.family), model: Int(raw.model),
                           stepping: Int(raw.stepping), instructionSets: Set(flags.filter(\.0).map(\.1)))
        #else
        return CPUFeatures(vendor: "", family: 0, model: 0, instructionSets: [])
        #endif
    }()

    public func has(_ set: InstructionSet) -> Bool { instructionSets.contains(set) }

    public var isIntel: Bool { vendor == "GenuineIntel" }
    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    /// The widest single-precision kernels this processor runs: AVX-512 needs the F, DQ, CD, BW and VL
    /// subsets that every AVX-512 BLAS kernel assumes; AVX2 needs FMA alongside.
    public var vectorLevel: VectorLevel {
        if [.avx512f, .avx512dq, .avx512cd, .avx512bw, .avx512vl].allSatisfy(has) { return .avx512 }
        if has(.avx2) && has(.fma) { return .avx2 }
        if has(.avx) { return .avx }
        return .sse3
    }

    /// BF16 dot products in hardware: AVX512-BF16 instructions or AMX tiles.
    public var hasBF16: Bool { (vectorLevel == .avx512 && has(.avx512_bf16)) || hasAMX }

    /// AMX tiles with BF16 multiplication.
    public var hasAMX: Bool { has(.amx_tile) && has(.amx_bf16) }

    /// "GenuineIntel family 6 model 207 (Intel(R) Xeon(R) Processor)".
    public var identity: String {
        "\(vendor) family \(family) model \(model)" + (brand.isEmpty ? "" : " (\(brand))")
    }

    /// The vector extensions that matter for the kernels, space-separated: "avx2 fma avx512f ... amx_bf16".
    public var summary: String {
        let shown: [InstructionSet] = [.avx, .avx2, .fma, .avx512f, .avx512bw, .avx512vl, .avx512_vnni, .avx512_bf16,
                                       .avx512_fp16, .amx_tile, .amx_bf16, .amx_int8]
        let present = shown.filter(has)
        return present.isEmpty ? "no AVX" : present.map(\.rawValue).joined(separator: " ")
    }
}
