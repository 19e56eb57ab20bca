import Foundation
import Testing

@Suite struct InfoCommandTests {
    /// `info` names the CPU, its instruction sets, who runs each precision's products and the threads.
    @Test func infoDescribesTheCPUTheLibrariesAndTheThreads() throws {
        let result = try Binary.run(["info"], environment: ["OPENBLAS_CORETYPE": ""])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("bert-tagger ") == true, "\(result.stdout)")
        for prefix in ["CPU: ", "  instruction sets: ", "  vector kernels: ", "fp32 products: ", "  in inference: ",
                       "BF16 products: ", "threads: "] {
            #expect(lines.contains { $0.hasPrefix(prefix) }, "no line starting \"\(prefix)\" in\n\(result.stdout)")
        }
        #if os(Linux)
        // With nothing set, OpenBLAS runs the kernels named from the CPU, and nothing warns.
        #expect(result.stdout.contains("(named from the CPU's instruction sets)"), "\(result.stdout)")
        #expect(!result.stdout.contains("WARNING"), "\(result.stdout)")
        #endif
    }

    /// How inference multiplies in single precision: as asked for by hand, as training does where the processor
    /// (here capped at SSE4.1) has no AVX2, and a value that names nothing is one error naming the variable.
    @Test func inferenceProductsFollowTheVariableAndTheInstructionSets() throws {
        let byHand = try Binary.run(["info"], environment: ["BERT_TAGGER_FP32_INFERENCE": "library"])
        #expect(byHand.status == 0, "\(byHand.stderr)")
        #expect(byHand.stdout.contains("  in inference: as training's (BERT_TAGGER_FP32_INFERENCE=library set by hand)"),
                "\(byHand.stdout)")
        let capped = try Binary.run(["info"], environment: ["BERT_TAGGER_MAX_CPU_ISA": "sse41"])
        #expect(capped.status == 0, "\(capped.stderr)")
        #expect(capped.stdout.contains("  in inference: as training's (the packed kernel needs AVX2 and FMA)"),
                "\(capped.stdout)")
        let wrong = try Binary.run(["info"], environment: ["BERT_TAGGER_FP32_INFERENCE": "fast"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("BERT_TAGGER_FP32_INFERENCE=fast names no way to run inference's single-precision "
                                      + "products: use packed or library, or unset it"), "\(wrong.stderr)")
    }

    /// A core set by hand is used and reported as such, with a warning when it is narrower than the CPU's.
    @Test func aCoreSetByHandIsRespectedAndSaidToBe() throws {
        #if os(Linux)
        let result = try Binary.run(["info"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Prescott kernels (OPENBLAS_CORETYPE=Prescott set by hand)"), "\(result.stdout)")
        // Every x86-64 CPU this runs on has at least AVX: Prescott's SSE3 kernels are narrower.
        if result.stdout.contains("avx2") {
            #expect(result.stdout.contains("WARNING: SSE3 kernels on an"), "\(result.stdout)")
        }
        #endif
    }

    /// oneDNN's own cap set by hand is followed and said to be; where oneDNN is absent nothing names it.
    @Test func oneDNNsCapSetByHandIsSaidToBe() throws {
        let result = try Binary.run(["info"], environment: ["ONEDNN_MAX_CPU_ISA": "AVX2"])
        #expect(result.status == 0, "\(result.stderr)")
        let oneDNNLoads = !result.stdout.contains("oneDNN is not available")
        #expect(result.stdout.contains("JIT kernels up to avx2; ONEDNN_MAX_CPU_ISA=AVX2 set by hand") == oneDNNLoads,
                "\(result.stdout)")
        #expect(!result.stdout.contains("WARNING"), "\(result.stdout)")
    }

    /// An OpenBLAS pool sized otherwise than the tool's threads (OPENBLAS_NUM_THREADS) is reported beside them.
    @Test func anOpenBLASPoolOfAnotherSizeIsReported() throws {
        #if os(Linux)
        let result = try Binary.run(["info"], environment: ["OPENBLAS_NUM_THREADS": "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let threads = result.stdout.split(separator: "\n").first { $0.hasPrefix("threads: ") }.map(String.init)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(threads == (cores > 1 ? "threads: \(cores), OpenBLAS's pool 1" : "threads: 1"), "\(result.stdout)")
        #endif
    }
}
