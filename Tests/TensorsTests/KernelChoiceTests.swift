import Foundation
import Testing
@testable import Tensors

/// Processors as CPUID reports them, for the decision tables.
enum Processors {
    static let avx2Sets: Set<InstructionSet> = [.sse3, .ssse3, .sse4_1, .sse4_2, .avx, .fma, .f16c, .avx2]
    static let avx512Sets = avx2Sets.union([.avx512f, .avx512dq, .avx512cd, .avx512bw, .avx512vl, .avx512_vnni])

    /// Intel Xeon family 6 model 207 (Emerald Rapids): AVX-512, AVX512-BF16, AMX; newer than OpenBLAS 0.3.21.
    static let xeonAMX = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 207,
                                     instructionSets: avx512Sets.union([.avx512_bf16, .avx512_fp16, .amx_tile,
                                                                        .amx_bf16, .amx_int8]))
    /// Intel Xeon Cooper Lake (model 85, stepping 11): AVX-512 with BF16, no AMX.
    static let xeonCooperLake = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 85, stepping: 11,
                                            instructionSets: avx512Sets.union([.avx512_bf16]))
    /// Intel Xeon Skylake-SP (model 85): AVX-512 without BF16.
    static let xeonSkylake = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 85, instructionSets: avx512Sets)
    /// Intel laptop (Alder Lake, model 151): AVX2 and FMA, no AVX-512.
    static let intelLaptop = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 151, instructionSets: avx2Sets)
    /// AMD EPYC Rome/Milan (family 23/25): AVX2 and FMA.
    static let epycMilan = CPUFeatures(vendor: "AuthenticAMD", family: 25, model: 1, instructionSets: avx2Sets)
    /// AMD EPYC Genoa (family 25, model 17, Zen 4): AVX-512 with BF16, no AMX.
    static let epycGenoa = CPUFeatures(vendor: "AuthenticAMD", family: 25, model: 17,
                                       instructionSets: avx512Sets.union([.avx512_bf16]))
    /// A processor whose OS does not save AVX state (CPUID says AVX, XCR0 does not): SSE only.
    static let sseOnly = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 44,
                                     instructionSets: [.sse3, .ssse3, .sse4_1, .sse4_2])
}

@Suite struct CPUFeatureTests {
    @Test func vectorLevelNeedsEverySubsetTheKernelsAssume() {
        #expect(Processors.xeonAMX.vectorLevel == .avx512)
        #expect(Processors.epycMilan.vectorLevel == .avx2)
        #expect(Processors.sseOnly.vectorLevel == .sse3)
        // AVX-512 Foundation alone (Knights Landing has no BW/VL) is not what AVX-512 kernels need.
        let knightsLanding = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 87,
                                         instructionSets: Processors.avx2Sets.union([.avx512f, .avx512cd]))
        #expect(knightsLanding.vectorLevel == .avx2)
        // AVX2 without FMA does not run FMA kernels.
        let noFMA = CPUFeatures(vendor: "GenuineIntel", family: 6, model: 60,
                                instructionSets: Processors.avx2Sets.subtracting([.fma]))
        #expect(noFMA.vectorLevel == .avx)
    }

    @Test func bf16HardwareIsAVX512BF16OrAMX() {
        #expect(Processors.xeonAMX.hasBF16 && Processors.xeonAMX.hasAMX)
        #expect(Processors.xeonCooperLake.hasBF16 && !Processors.xeonCooperLake.hasAMX)
        #expect(!Processors.xeonSkylake.hasBF16)
        #expect(!Processors.epycMilan.hasBF16)
    }

    @Test func theMachineAtHandReportsItsVendorAndConsistentSets() {
        let cpu = CPUFeatures.current
        #if arch(x86_64)
        #expect(["GenuineIntel", "AuthenticAMD", "HygonGenuine"].contains(cpu.vendor), "vendor \(cpu.vendor)")
        #expect(cpu.has(.sse3), "every x86-64 processor this tool runs on has SSE3")
        // A wider set implies the narrower ones it builds on.
        if cpu.has(.avx2) { #expect(cpu.has(.avx)) }
        if cpu.has(.avx512bw) { #expect(cpu.has(.avx512f)) }
        if cpu.has(.amx_bf16) { #expect(cpu.has(.amx_tile)) }
        #endif
    }
}

@Suite struct OpenBLASKernelChoiceTests {
    /// (processor, core named for it)
    static let cores: [(CPUFeatures, String)] = [
        (Processors.xeonAMX, "COOPERLAKE"),
        (Processors.xeonCooperLake, "COOPERLAKE"),
        (Processors.xeonSkylake, "SKYLAKEX"),
        (Processors.intelLaptop, "HASWELL"),
        (Processors.epycMilan, "ZEN"),
        (Processors.epycGenoa, "COOPERLAKE"),
        (Processors.sseOnly, "NEHALEM"),
    ]

    @Test(arguments: cores)
    func theCoreIsTheWidestTheProcessorRuns(cpu: CPUFeatures, core: String) {
        #expect(OpenBLASKernels.core(for: cpu) == core)
        #expect(OpenBLASKernels.choice(for: cpu, environment: [:]) == .fromCPU(core))
        // The named core is never below the processor.
        #expect(OpenBLASKernels.verdict(cpu: cpu, reportedCore: core) == .full)
    }

    @Test func aCoreSetByHandIsRespectedEvenWhenNarrower() {
        let env = ["OPENBLAS_CORETYPE": "Haswell"]
        #expect(OpenBLASKernels.choice(for: Processors.xeonAMX, environment: env) == .byHand("Haswell"))
        #expect(OpenBLASKernels.choice(for: Processors.epycMilan, environment: env) == .byHand("Haswell"))
        // An empty value is no choice at all.
        #expect(OpenBLASKernels.choice(for: Processors.xeonAMX, environment: ["OPENBLAS_CORETYPE": " "])
                == .fromCPU("COOPERLAKE"))
    }

    @Test func idleOpenBLASWorkersSleepSoonUnlessTheWaitIsSetByHand() {
        #expect(OpenBLASThreadWait.choice(environment: [:]) == .fromTool(16))
        #expect(OpenBLASThreadWait.choice(environment: ["OPENBLAS_THREAD_TIMEOUT": "28"]) == .byHand("28"))
        #expect(OpenBLASThreadWait.choice(environment: ["OPENBLAS_THREAD_TIMEOUT": ""]) == .fromTool(16))
        // The tool's value is inside the range OpenBLAS accepts (it clamps to 4...30).
        #expect((4...30).contains(OpenBLASThreadWait.exponent))
    }

    /// (processor, core OpenBLAS reports, verdict): the Prescott fallback on a model OpenBLAS does not know is
    /// the case this table exists for.
    static let verdicts: [(CPUFeatures, String, OpenBLASKernels.Verdict)] = [
        (Processors.xeonAMX, "Prescott", .below(kernel: .sse3, cpu: .avx512)),
        (Processors.xeonAMX, "Haswell", .below(kernel: .avx2, cpu: .avx512)),
        (Processors.xeonAMX, "SkylakeX", .full),
        (Processors.xeonAMX, "Cooperlake", .full),
        (Processors.epycGenoa, "Zen", .below(kernel: .avx2, cpu: .avx512)),
        (Processors.epycMilan, "Zen", .full),
        (Processors.epycMilan, "Haswell", .full),
        (Processors.epycMilan, "Prescott", .below(kernel: .sse3, cpu: .avx2)),
        (Processors.intelLaptop, "Sandybridge", .below(kernel: .avx, cpu: .avx2)),
        (Processors.sseOnly, "Nehalem", .full),
        (Processors.xeonAMX, "Loongson3R4", .unknown("Loongson3R4")),
    ]

    @Test(arguments: verdicts)
    func theReportedKernelIsComparedWithTheProcessor(cpu: CPUFeatures, core: String, verdict: OpenBLASKernels.Verdict) {
        #expect(OpenBLASKernels.verdict(cpu: cpu, reportedCore: core) == verdict)
    }

    #if !canImport(Accelerate)
    /// On the machine at hand: the kernels OpenBLAS runs in this very process are the widest its processor
    /// supports (unless OPENBLAS_CORETYPE was set by hand, which is then what it must run).
    @Test func theLoadedOpenBLASRunsTheWidestKernelsOfThisProcessor() throws {
        let library = try OpenBLASLibrary.shared.get()
        switch library.choice {
        case .fromCPU(let core):
            #expect(library.core.lowercased() == core.lowercased(), "asked for \(core), OpenBLAS runs \(library.core)")
            #expect(OpenBLASKernels.verdict(cpu: .current, reportedCore: library.core) == .full,
                    "OpenBLAS runs \(library.core) kernels on \(CPUFeatures.current.identity) [\(CPUFeatures.current.summary)]")
        case .byHand(let core):
            // OpenBLAS may run another core than the one set when the processor lacks its instructions.
            #expect(OpenBLASKernels.vectorLevel(ofCore: library.core) != nil,
                    "OPENBLAS_CORETYPE=\(core), OpenBLAS runs \(library.core)")
        }
    }

    /// The settings the tool makes for OpenBLAS's load are taken back afterwards: programs the tool starts see
    /// the environment the user gave it.
    @Test func theSettingsMadeForOpenBLASAreNotLeftInTheEnvironment() throws {
        let library = try OpenBLASLibrary.shared.get()
        if case .fromTool = library.threadWait { #expect(getenv(OpenBLASThreadWait.environmentVariable) == nil) }
        if case .fromCPU = library.choice { #expect(getenv(OpenBLASKernels.environmentVariable) == nil) }
    }
    #endif
}

/// The instruction set oneDNN's kernels should target on each class of processor, and the check of the one it
/// targets in this process.
@Suite struct OneDNNKernelChoiceTests {
    @Test func eachProcessorExpectsTheWidestInstructionSetOneDNNNamesForIt() {
        let cases: [(String, CPUFeatures, String?)] = [
            ("Xeon with AMX", Processors.xeonAMX, "avx512_core_amx"),
            ("Xeon Cooper Lake", Processors.xeonCooperLake, "avx512_core_bf16"),
            ("Xeon Cascade Lake", Int8ProductsChoiceTests.cascadeLake, "avx512_core_vnni"),
            ("Xeon Skylake (no VNNI)", Int8ProductsChoiceTests.skylakeWithoutVNNI, "avx512_core"),
            ("EPYC Genoa", Processors.epycGenoa, "avx512_core_bf16"),
            ("EPYC Milan", Processors.epycMilan, "avx2"),
            ("Intel laptop", Processors.intelLaptop, "avx2"),
            ("SSE only", Processors.sseOnly, nil),
        ]
        for (name, cpu, expected) in cases {
            #expect(OneDNNLibrary.expectedInstructionSet(for: cpu) == expected, "\(name)")
        }
        #expect(OneDNNLibrary.isNarrower("avx2", thanExpectedFor: Processors.epycGenoa))
        #expect(OneDNNLibrary.isNarrower("avx512_core_bf16", thanExpectedFor: Processors.xeonAMX))
        #expect(!OneDNNLibrary.isNarrower("avx512_core_amx", thanExpectedFor: Processors.xeonAMX))
        #expect(!OneDNNLibrary.isNarrower("avx2_vnni", thanExpectedFor: Processors.intelLaptop))
        #expect(!OneDNNLibrary.isNarrower("avx512_core_bf16", thanExpectedFor: Processors.epycGenoa))
        #expect(!OneDNNLibrary.isNarrower("avx512_mic", thanExpectedFor: Processors.epycGenoa), "an unknown name")
        #expect(!OneDNNLibrary.isNarrower("sse41", thanExpectedFor: Processors.sseOnly))
    }

    /// On the machine at hand: oneDNN's kernels in this very process are the widest its processor (as capped by
    /// `BERT_TAGGER_MAX_CPU_ISA`) supports, unless oneDNN's own cap was set by hand, which the report then names.
    @Test(.enabled(if: PrimitiveCacheTests.oneDNN != nil, "oneDNN is not installed"))
    func theLoadedOneDNNTargetsTheWidestInstructionSetOfThisProcessor() throws {
        let dnnl = try #require(PrimitiveCacheTests.oneDNN)
        if let capSetByHand = dnnl.capSetByHand {
            #expect(dnnl.kernelsDescription.contains("\(capSetByHand) set by hand"))
        } else {
            #expect(!OneDNNLibrary.isNarrower(dnnl.isa, thanExpectedFor: .current),
                    "oneDNN targets \(dnnl.isa) on \(CPUFeatures.current.identity) [\(CPUFeatures.current.summary)]")
            #expect(!dnnl.kernelsDescription.contains("WARNING"))
        }
    }
}
