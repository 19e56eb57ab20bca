import ArgumentParser
import BERT
import Foundation
import Tensors

/// The encoder's matrix products on every library present, side by side in one process: the figures behind
/// the choice of library per precision.
struct GEMMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of the encoder's products (forward NT, backward NN and TN, attention) on each library present.")

    @Option(help: "Model directory whose config.json sets the shapes.")
    var model = "models/all-MiniLM-L6-v2"

    @Option(parsing: .upToNextOption, help: "Token counts (rows of the activations).")
    var tokens: [Int] = [640, 4096]

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(help: "Seconds of timed calls per shape and library (after a first, separately timed call).")
    var seconds = 0.3

    @Option(parsing: .upToNextOption, help: "Row counts for inference's forward products (a sentence to a batch).")
    var inferenceRows: [Int] = [1, 6, 20, 64, 256, 640, 4096]

    @Option(help: "Path to MKL's libmkl_rt (PyPI's mkl wheel puts it in <python prefix>/lib) to compare it too.")
    var mkl: String?

    func validate() throws {
        guard tokens.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--tokens must be positive") }
        guard inferenceRows.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--inference-rows must be positive") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// (name, transA, transB, m, n, k, beta, calls per layer in a training step)
    typealias Shape = (name: String, transA: BLAS.Transpose, transB: BLAS.Transpose, m: Int, n: Int, k: Int, beta: Float,
                       calls: Int)

    func run() throws {
        try printMachineHeader(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let config = try BertConfig.load(from: URL(fileURLWithPath: model).appendingPathComponent("config.json"))
        let C = config.hiddenSize, F = config.intermediateSize, hs = C / config.numAttentionHeads
        let (candidates, notes) = GEMMCandidate.available(mklLibrary: mkl)
        for note in notes { print("not compared: \(note)") }

        var shapes: [Shape] = []
        for T in tokens {
            for (IC, OC, calls) in [(C, C, 4), (C, F, 1), (F, C, 1)] {
                shapes.append(("T\(T) fwd NT \(IC)→\(OC)", .none, .transposed, T, OC, IC, 0, calls))
                shapes.append(("T\(T) bwd NN \(OC)→\(IC)", .none, .none, T, IC, OC, 0, calls))
                shapes.append(("T\(T) bwd TN dW \(OC)×\(IC)", .transposed, .none, OC, IC, T, 1, calls))
            }
        }
        let largest = shapes.map { max($0.m * $0.k, $0.k * $0.n, $0.m * $0.n) }.max() ?? 1
        let a = FloatSlab(count: largest), b = FloatSlab(count: largest), c = FloatSlab(count: largest)
        var rng = SplitMix64(seed: 3)
        for i in 0 ..< largest {
            a.buffer[i] = rng.nextUniform() - 0.5
            b.buffer[i] = rng.nextUniform() - 0.5
        }
        let scratches = candidates.map { $0.makeScratch(capacity: largest) }

        print("GFLOP/s (first call's milliseconds, which include creating a kernel for the shape, in brackets when over 1 ms);"
              + " * marks the library in use for its precision")
        let header = candidates.map { ($0.inUse ? "*" : "") + "\($0.name) [\($0.precision)]" }
        print(header.enumerated().map { "  \(Character(UnicodeScalar(65 + $0.offset)!)) = \($0.element)" }.joined(separator: "\n"))
        print("shape".padding(toLength: 26, withPad: " ", startingAt: 0)
              + candidates.indices.map { String(repeating: " ", count: 12) + String(Character(UnicodeScalar(65 + $0)!)) }.joined())
        var flopsPerToken = [Int: Double](), secondsByCandidate = [[Int: Double]](repeating: [:], count: candidates.count)
        for shape in shapes {
            let lda = shape.transA == .none ? shape.k : shape.m, ldb = shape.transB == .none ? shape.n : shape.k
            let flops = 2 * Double(shape.m * shape.n * shape.k)
            let T = shape.transA == .none ? shape.m : shape.k
            flopsPerToken[T, default: 0] += flops * Double(shape.calls)
            var cells: [String] = []
            for (index, candidate) in candidates.enumerated() {
                let call = {
                    candidate.multiply(shape.transA, shape.transB, shape.m, shape.n, shape.k, a.pointer, lda, b.pointer, ldb,
                                       shape.beta, c.pointer, shape.n, scratches[index])
                }
                let first = measureOnce(call)
                let perCall = medianSeconds(atLeast: seconds, call)
                secondsByCandidate[index][T, default: 0] += perCall * Double(shape.calls)
                let rate = String(format: "%.0f", flops / perCall / 1e9)
                cells.append((first > 1e-3 && first > 3 * perCall ? "(\(String(format: "%.1f", first * 1e3))) " : "") + rate)
            }
            print(shape.name.padding(toLength: 26, withPad: " ", startingAt: 0)
                  + cells.map { String(repeating: " ", count: max(1, 13 - $0.count)) + $0 }.joined())
        }
        print("\ntraining-step mix (each shape weighted by its calls per layer), GFLOP/s:")
        for T in tokens {
            let rates = candidates.indices.map { flopsPerToken[T]! / secondsByCandidate[$0][T]! / 1e9 }
            print("  T \(T): " + zip(candidates, rates).map { "\($0.name) [\($0.precision)] \(String(format: "%.0f", $1))" }
                .joined(separator: "; "))
        }

        inferenceProducts(C: C, F: F, rng: &rng)
        taggingProducts(C: C, F: F, rng: &rng)

        // Attention's per-head products: small, strided inside [n, C] matrices, one sequence and head at a time.
        print("\nattention products per head (hs \(hs)), as attention makes them: one per worker, on the calling thread")
        let q = FloatSlab(count: 512 * C), k = FloatSlab(count: 512 * C), probs = FloatSlab(count: 512 * 512)
        for i in 0 ..< q.count { q.buffer[i] = rng.nextUniform() - 0.5; k.buffer[i] = rng.nextUniform() - 0.5 }
        for n in [32, 64, 128] {
            let flops = 2 * Double(n * n * hs)
            let scores = medianSeconds(atLeast: seconds) {
                BLAS.sgemm(.none, .transposed, m: n, n: n, k: hs, a: q.pointer, lda: C, b: k.pointer, ldb: C, beta: 0,
                           c: probs.pointer, ldc: n, callingThreadOnly: true)
            }
            let context = medianSeconds(atLeast: seconds) {
                BLAS.sgemm(.none, .none, m: n, n: hs, k: n, a: probs.pointer, lda: n, b: k.pointer, ldb: C, beta: 0,
                           c: q.pointer, ldc: C, callingThreadOnly: true)
            }
            print(String(format: "  n %3d: q·kᵀ %.0f GFLOP/s, probs·v %.0f GFLOP/s", n, flops / scores / 1e9, flops / context / 1e9))
        }
    }
}

extension GEMMBenchmark {
    /// Prints a table of inference's forward products: a column per projection shape (C→C, C→F, F→C) headed
    /// "IC→OC: `heading`", a line per row count of `inferenceRows`. `prepare` gets each shape's random weight
    /// [OC, IC] and bias [OC], lays them out, and returns the cell of a row count, given an input of random rows.
    func printProductTable(C: Int, F: Int, heading: String, width: Int, rng: inout SplitMix64,
                           prepare: (_ IC: Int, _ OC: Int, _ weight: FloatSlab, _ bias: FloatSlab,
                                     _ input: FloatSlab) -> (_ rows: Int) -> String) {
        let input = FloatSlab(count: (inferenceRows.max() ?? 1) * F)
        for i in 0 ..< input.count { input.buffer[i] = rng.nextUniform() - 0.5 }
        print("rows".padding(toLength: 8, withPad: " ", startingAt: 0)
              + [(C, C), (C, F), (F, C)].map { "\($0.0)→\($0.1): \(heading)".padding(toLength: width, withPad: " ", startingAt: 0) }
                .joined())
        var line: [Int: String] = [:]
        for (IC, OC) in [(C, C), (C, F), (F, C)] {
            let weight = FloatSlab(count: OC * IC), bias = FloatSlab(count: OC)
            for i in 0 ..< weight.count { weight.buffer[i] = rng.nextUniform() - 0.5 }
            for i in 0 ..< OC { bias.buffer[i] = rng.nextUniform() - 0.5 }
            let cell = prepare(IC, OC, weight, bias, input)
            for rows in inferenceRows {
                line[rows, default: ""] += cell(rows).padding(toLength: width, withPad: " ", startingAt: 0)
            }
        }
        for rows in inferenceRows {
            print(String(rows).padding(toLength: 8, withPad: " ", startingAt: 0) + line[rows]!)
        }
    }

    /// Inference's forward products, out = inp · weightᵀ + bias with the weight fixed: the single-precision library
    /// as training calls it (the bias put in first) against the packed kernel on the weight laid out once, from
    /// one sentence's rows to a batch's.
    func inferenceProducts(C: Int, F: Int, rng: inout SplitMix64) {
        print("\ninference forward products (out = inp · Wᵀ + bias, W fixed), GFLOP/s: \(ComputeLibraries.fp32Description)"
              + " against the packed kernel; * marks what inference uses (\(ComputeLibraries.fp32InferenceDescription))")
        guard PackedFP32Weights(n: 16, k: 16, products: .packed) != nil else {
            print("  not compared: the packed kernel needs AVX2 and FMA")
            return
        }
        let packedInUse = BLAS.fp32InferenceProducts == .packed
        let output = FloatSlab(count: (inferenceRows.max() ?? 1) * F)
        printProductTable(C: C, F: F, heading: "library, packed", width: 34, rng: &rng) { IC, OC, weight, bias, input in
            let packed = PackedFP32Weights(n: OC, k: IC, products: .packed)!
            packed.pack(weight.pointer)
            return { rows in
                let flops = 2 * Double(rows * OC * IC)
                let library = medianSeconds(atLeast: seconds) {
                    matmulForward(output.pointer, input.pointer, weight.pointer, bias.pointer, T: rows, IC: IC, OC: OC)
                }
                let ours = medianSeconds(atLeast: seconds) {
                    BLAS.sgemm(m: rows, a: input.pointer, packed: packed, bias: bias.pointer, c: output.pointer)
                }
                return String(format: "%@%.0f, %@%.0f (%.2f×)", packedInUse ? "" : "*", flops / library / 1e9,
                              packedInUse ? "*" : "", flops / ours / 1e9, library / ours)
            }
        }
    }

    /// Tagging's forward products in its two fast precisions, each as the model runs it on weights laid out once:
    /// BF16 (`PackedWeights`: oneDNN's blocks of 256 rows, the rows left over on the AMX kernel where it runs; the
    /// input converted beforehand, as the LayerNorm before writes it) against INT8 (`PackedInt8Weights`: the input
    /// quantized beforehand, as the kernel before does; the int32 sums scaled back with the bias included).
    func taggingProducts(C: Int, F: Int, rng: inout SplitMix64) {
        let bf16Runner = (BLAS.inferenceProducts == .amx ? BLAS.bf16KernelName : nil)
            ?? "oneDNN's packed primitive, \(ComputeLibraries.bf16Description)"
        print("\ntagging's forward products on packed weights, GOP/s: BF16 (\(bf16Runner)) against"
              + " INT8 (\(ComputeLibraries.int8Description)), the ratio INT8 / BF16")
        guard BLAS.int8Runs, PackedWeights(n: 16, k: 16, bias: true) != nil else {
            print("  not compared: BF16 products are not on oneDNN here, or INT8 products do not run")
            return
        }
        let maxRows = inferenceRows.max() ?? 1
        let output = FloatSlab(count: maxRows * F)
        let scratch = GEMMScratch(capacity: max(maxRows, F) * F)
        let quantized = QuantizedRows(rows: maxRows, k: F)
        // Where the tool's INT8 kernel runs, oneDNN's INT8 primitives beside it.
        let int8OnOneDNN = BLAS.int8Products == .vnni
        if int8OnOneDNN {
            print("  and in brackets INT8 on oneDNN's primitives, GOP/s, and the ratio of the tool's kernel to them")
        }
        let heading = int8OnOneDNN ? "bf16, int8 (oneDNN int8, ratio)" : "bf16, int8"
        printProductTable(C: C, F: F, heading: heading, width: int8OnOneDNN ? 46 : 30, rng: &rng) { IC, OC, weight, bias, input in
            let bf16 = PackedWeights(n: OC, k: IC, bias: true)!, int8 = PackedInt8Weights(n: OC, k: IC)!
            let oneDNN = int8OnOneDNN ? PackedInt8Weights(n: OC, k: IC, products: .onednn) : nil
            bf16.pack(scratch.b.convert(weight.pointer, count: OC * IC))
            int8.pack(weight.pointer)
            oneDNN?.pack(weight.pointer)
            return { rows in
                let ops = 2 * Double(rows * OC * IC)
                let a16 = scratch.a.convert(input.pointer, count: rows * IC)
                let bf16Seconds = medianSeconds(atLeast: seconds) {
                    BLAS.gemmBF16(m: rows, a: a16, packed: bf16, bias: bias.pointer, c: output.pointer)
                }
                quantized.quantize(input.pointer, rows: rows, k: IC)
                let int8Seconds = medianSeconds(atLeast: seconds) {
                    BLAS.gemmInt8(m: rows, a: quantized, packed: int8, bias: bias.pointer, c: output.pointer)
                }
                let text = String(format: "%.0f, %.0f (%.2f×)", ops / bf16Seconds / 1e9, ops / int8Seconds / 1e9,
                                  bf16Seconds / int8Seconds)
                guard let oneDNN else { return text }
                let oneDNNSeconds = medianSeconds(atLeast: seconds) {
                    BLAS.gemmInt8(m: rows, a: quantized, packed: oneDNN, bias: bias.pointer, c: output.pointer)
                }
                return text + String(format: " (%.0f, %.2f×)", ops / oneDNNSeconds / 1e9, oneDNNSeconds / int8Seconds)
            }
        }
    }
}

private func measureOnce(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Median seconds per call over batches of calls that run at least `atLeast` seconds in all.
private func medianSeconds(atLeast: Double, _ body: () -> Void) -> Double {
    let single = measureOnce(body)
    let perBatch = max(1, Int(0.01 / max(single, 1e-7)))
    var samples: [Double] = []
    var spent = 0.0
    while spent < atLeast || samples.count < 5 {
        let t = measureOnce { for _ in 0 ..< perBatch { body() } }
        samples.append(t / Double(perBatch))
        spent += t
    }
    return samples.sorted()[samples.count / 2]
}
