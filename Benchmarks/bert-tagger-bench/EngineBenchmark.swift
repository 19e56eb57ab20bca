import ArgumentParser
import BERT
import Foundation
import Tensors

/// Inference and training throughput of the engine on CoNLL-shaped packed batches, next to the bound the
/// machine's sgemm sets on the same shapes.
struct EngineBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Forward and forward+backward+AdamW tokens/s against the sgemm bound, and peak memory.")

    @Option(help: "Model directory whose config.json sets the shapes (weights are random).")
    var model = "models/all-MiniLM-L6-v2"

    @Option(help: "Tokens per packed batch.")
    var tokens = 4096

    @Option(help: "Threads for BLAS and the elementwise kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Timed repetitions of each measurement (after one warm-up).")
    var repeats = 5

    @Option(help: "Labels of the token classifier (CoNLL-2003 IOB2 has 9).")
    var labels = 9

    @Option(help: "Number format of the encoder's matrix products: fp32 or bf16.")
    var precision: GEMMPrecision = .fp32

    func validate() throws {
        guard tokens >= 200 else { throw ValidationError("--tokens must be at least 200 (one long CoNLL sequence)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try printMachineHeader(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let config = try BertConfig.load(from: URL(fileURLWithPath: model).appendingPathComponent("config.json"))
        let batch = CoNLLShapedBatch(tokens: tokens, vocabSize: config.vocabSize, numLabels: labels, seed: 7)
        let T = batch.ids.count, C = config.hiddenSize, F = config.intermediateSize, L = config.numHiddenLayers
        print("engine benchmark: \(model) (C \(C), F \(F), L \(L), heads \(config.numAttentionHeads)), "
              + "\(Parallel.threadCount) threads")
        print("batch: \(T) tokens in \(batch.offsets.count - 1) sequences (lengths \(batch.minLength)...\(batch.maxLength), "
              + "Σn²/T = \(String(format: "%.1f", batch.meanAttendedLength)))")

        // The bound: sgemm on the model's own shapes, forward and backward.
        let gemm = GEMMProbe(T: T, C: C, F: F, repeats: repeats, precision: precision)
        print(String(format: "\(precision) products, GFLOP/s: forward shapes %.1f   backward shapes %.1f   training mix %.1f",
                     gemm.forwardRate / 1e9, gemm.backwardRate / 1e9, gemm.trainingRate / 1e9)
              + (gemm.inferenceRate != gemm.forwardRate
                 ? String(format: "   inference on packed weights %.1f", gemm.inferenceRate / 1e9) : ""))

        // Model FLOPs per token, forward: per layer 2·(4C² + 2CF) for the six projections plus 4·C·n̄ for
        // q·kᵀ and probs·v, where n̄ = Σn²/T is the attended length per token; plus 2·C·NL for the classifier.
        // Training counts backward as twice forward (3×); attention's recomputation in backward is not model FLOPs.
        let forwardFLOPs = Double(L) * (2 * (4 * Double(C * C) + 2 * Double(C * F)) + 4 * Double(C) * batch.meanAttendedLength)
            + 2 * Double(C * labels)
        let trainingFLOPs = 3 * forwardFLOPs
        print(String(format: "model FLOPs per token: forward %.2f M, training %.2f M", forwardFLOPs / 1e6, trainingFLOPs / 1e6))

        let engine = BertForTokenClassification(config: config, numLabels: labels, maxTokens: T, seed: 1,
                                                precision: precision)
        var optimizer = AdamW(layout: engine.layout, learningRate: 5e-5, weightDecay: 0.01)

        // Inference on a model planned for it (as `predict` builds one), with the same weights.
        let tagger = BertForTokenClassification(config: config, numLabels: labels, maxTokens: T, seed: 1,
                                                precision: precision, purpose: .inference)
        let inference = try time(repeats) {
            _ = try tagger.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                   labels: nil, training: false)
        }
        var lastLoss: Float = 0
        let training = try time(repeats) {
            engine.zeroGradients()
            lastLoss = try engine.forward(inputIDs: batch.ids, positionIDs: batch.positions,
                                          sequenceOffsets: batch.offsets, labels: batch.labels, training: true) ?? .nan
            engine.backward()
            optimizer.step(parameters: engine.parameters, gradients: UnsafeBufferPointer(engine.gradients),
                           learningRate: 5e-5)
        }
        report("inference (forward)", seconds: inference, tokens: T, flopsPerToken: forwardFLOPs, rate: gemm.inferenceRate)
        report("training (fwd+bwd+AdamW)", seconds: training, tokens: T, flopsPerToken: trainingFLOPs, rate: gemm.trainingRate)
        print(String(format: "last training loss %.4f", lastLoss))
        print(String(format: "peak resident memory: %.0f MiB (after %d-token training steps; parameters, gradients "
                     + "and moments %.0f MiB)", Double(peakResidentBytes()) / 1_048_576, T,
                     Double(engine.layout.totalCount * 16) / 1_048_576))
    }

    private func report(_ name: String, seconds: Double, tokens: Int, flopsPerToken: Double, rate: Double) {
        let achieved = Double(tokens) / seconds
        let bound = rate / flopsPerToken
        print(String(format: "%-26@ %8.0f tokens/s  (%.1f ms/batch, %.1f GFLOP/s)   bound %8.0f tokens/s   %.0f%% of bound",
                     name as NSString, achieved, seconds * 1000, achieved * flopsPerToken / 1e9, bound, 100 * achieved / bound))
    }
}

/// Best wall time of `body` over `repeats` runs, after one warm-up run: on a shared machine the fastest run
/// is the one least disturbed by other work, for the engine and the sgemm bound alike.
private func time(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var samples: [Double] = []
    for _ in 0 ..< repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return samples.min()!
}

/// A packed batch shaped like CoNLL-2003 after WordPiece: most sentences 10–40 pieces, about one in eight
/// 41–120, [CLS]/[SEP] included; about one label in five is -100 (continuation pieces and specials).
struct CoNLLShapedBatch {
    var ids: [Int32] = [], positions: [Int32] = [], labels: [Int32] = [], offsets: [Int32] = [0]
    var minLength = Int.max, maxLength = 0
    var meanAttendedLength = 0.0

    init(tokens: Int, vocabSize: Int, numLabels: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func uniform(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
        var squares = 0
        while ids.count < tokens {
            var n = rng.nextUniform() < 0.875 ? uniform(10 ... 40) : uniform(41 ... 120)
            n = min(n, tokens - ids.count)
            for p in 0 ..< n {
                ids.append(Int32(uniform(1000 ... vocabSize - 1)))
                positions.append(Int32(p))
                let special = p == 0 || p == n - 1
                labels.append(special || rng.nextUniform() < 0.15 ? -100 : Int32(uniform(0 ... numLabels - 1)))
            }
            offsets.append(Int32(ids.count))
            minLength = min(minLength, n)
            maxLength = max(maxLength, n)
            squares += n * n
        }
        meanAttendedLength = Double(squares) / Double(ids.count)
    }
}

/// GFLOP/s of the encoder's projection shapes in one precision (BF16 including its input conversion), as the
/// engine calls them.
struct GEMMProbe {
    var forwardRate = 0.0, backwardRate = 0.0, trainingRate = 0.0
    /// The forward shapes' rate as inference multiplies them (on packed weights where it does).
    var inferenceRate = 0.0

    init(T: Int, C: Int, F: Int, repeats: Int, precision: GEMMPrecision) {
        let a = FloatSlab(count: T * F), b = FloatSlab(count: T * F), c = FloatSlab(count: T * F)
        let scratch = GEMMScratch(capacity: T * F)
        var rng = SplitMix64(seed: 3)
        for i in 0 ..< a.count { a.buffer[i] = rng.nextUniform() - 0.5 }
        for i in 0 ..< b.count { b.buffer[i] = rng.nextUniform() - 0.5 }
        // (transA, transB, m, n, k, calls per layer)
        typealias Shape = (BLAS.Transpose, BLAS.Transpose, Int, Int, Int, Int)
        let forward: [Shape] = [(.none, .transposed, T, C, C, 4),        // q, k, v, attention output
                                (.none, .transposed, T, F, C, 1),        // intermediate
                                (.none, .transposed, T, C, F, 1)]        // output
        let backward: [Shape] = [(.none, .none, T, C, C, 4), (.none, .none, T, C, F, 1), (.none, .none, T, F, C, 1),  // d input
                                 (.transposed, .none, C, C, T, 4), (.transposed, .none, F, C, T, 1),
                                 (.transposed, .none, C, F, T, 1)]                                                   // d weight
        func measure(_ shapes: [Shape]) -> (flops: Double, seconds: Double) {
            var flops = 0.0, seconds = 0.0
            for (ta, tb, m, n, k, calls) in shapes {
                let lda = ta == .none ? k : m, ldb = tb == .none ? n : k
                let t = time(repeats) {
                    BLAS.gemm(precision, ta, tb, m: m, n: n, k: k, a: a.pointer, lda: lda, b: b.pointer, ldb: ldb,
                              beta: 0, c: c.pointer, ldc: n, scratch: scratch)
                }
                flops += 2 * Double(m * n * k) * Double(calls)
                seconds += t * Double(calls)
            }
            return (flops, seconds)
        }
        let f = measure(forward), bw = measure(backward)
        forwardRate = f.flops / f.seconds
        backwardRate = bw.flops / bw.seconds
        trainingRate = (f.flops + bw.flops) / (f.seconds + bw.seconds)
        // Inference multiplies by packed weights where it does (single precision on the packed kernel, BF16 on the
        // tool's AMX or AVX512-BF16 kernel or oneDNN's packed primitive, its inputs written in BF16 by the pass
        // before): its bound is that product's rate on the same shapes. A packed product of one shape, made ready
        // and returned as the call to time; nil where inference in this precision does not multiply by packed weights.
        func packedProduct(m: Int, n: Int, k: Int) -> (() -> Void)? {
            switch precision {
            case .bf16:
                guard let packed = PackedWeights(n: n, k: k, bias: false) else { return nil }
                packed.pack(scratch.b.convert(b.pointer, count: n * k))
                let a16 = scratch.a.convert(a.pointer, count: m * k)
                return { BLAS.gemmBF16(m: m, a: a16, packed: packed, bias: nil, c: c.pointer) }
            case .fp32:
                guard let packed = PackedFP32Weights(n: n, k: k) else { return nil }
                packed.pack(b.pointer)
                return { BLAS.sgemm(m: m, a: a.pointer, packed: packed, bias: nil, c: c.pointer) }
            case .int8:
                return nil
            }
        }
        inferenceRate = forwardRate
        var flops = 0.0, seconds = 0.0
        for (_, _, m, n, k, calls) in forward {
            guard let product = packedProduct(m: m, n: n, k: k) else { break }
            flops += 2 * Double(m * n * k) * Double(calls)
            seconds += time(repeats, product) * Double(calls)
        }
        if seconds > 0 { inferenceRate = flops / seconds }
    }
}

/// Peak resident set size in bytes (ru_maxrss is KiB on Linux, bytes on Apple platforms).
private func peakResidentBytes() -> Int {
    var usage = rusage()
    #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)
    #else
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
    #endif
}

extension GEMMPrecision: ExpressibleByArgument {}
extension PrecisionChoice: ExpressibleByArgument {}
