import ArgumentParser
import BERT
import DataParallel
import Datasets
import Foundation
import Tagger
import Tensors
import Training

/// Real optimizer steps on real CoNLL-2003 batches: the data path the trainer uses (reader, the classifier's
/// tokenizer and windowing, shuffled length-bucketed batches), then forward, backward, clipping, AdamW and
/// zeroing timed phase by phase. The engine benchmark's synthetic batch has 24 mid-length sequences; real
/// batches range from a few long sentences to two hundred one-word ones, and this shows what each costs.
/// Under `mpirun -np N` each step's batch is split between the ranks as `train` splits it, and the gradient
/// allreduce is a phase of its own; rank 0 prints.
struct TrainStepBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step",
        abstract: "Tokens/s of real training steps on CoNLL-2003 train, per phase and per sequence-length bucket.")

    @Option(help: "Folder holding train.txt.")
    var corpus = "data/conll2003"

    @Option(help: "Pretrained encoder directory (config.json, vocab/tokenizer, model.safetensors).")
    var model = "models/all-MiniLM-L6-v2"

    @Option(help: "At most this many real tokens per batch, as `train --batch-tokens`.")
    var batchTokens = 4096

    @Option(help: "At most this many sentences per batch, as `train --batch-sentences` (0: only --batch-tokens bounds a batch).")
    var batchSentences = 32

    @Option(help: "Timed optimizer steps: the first ones of a shuffled epoch, after the warm-up steps.")
    var steps = 40

    @Option(help: "Untimed steps first (they fault in the activation and optimizer memory).")
    var warmup = 2

    @Option(help: "Threads for BLAS and the elementwise kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Seed of the shuffled epoch (and of the new classifier).")
    var seed: UInt64 = 42

    @Option(help: "Gradient clipping norm, as `train --max-grad-norm` (0 for none).")
    var maxGradNorm: Float = 1.0

    @Option(help: "Number format of the encoder's matrix products, as `train --precision`.")
    var precision: PrecisionChoice = .fp32

    @Option(help: "Under mpirun, how the gradients are summed, as `train --allreduce`: overlap or after-backward.")
    var allreduce: GradientReduction = .standard

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard batchTokens > 2 else { throw ValidationError("--batch-tokens must exceed 2") }
        guard batchSentences >= 0 else { throw ValidationError("--batch-sentences must be 0 (no limit) or positive") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let world = try World.join()
        defer { world.finalize() }
        let threadCount = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / World.localRanks())
        if world.isRoot {
            try printMachineHeader(threads: threadCount)
        } else {
            try ComputeLibraries.load()
            Parallel.setThreadCount(threadCount)
        }
        func print(_ line: String) { if world.isRoot { Swift.print(line) } }
        let trainURL = URL(fileURLWithPath: corpus).appendingPathComponent("train.txt")
        guard FileManager.default.fileExists(atPath: trainURL.path) else {
            throw ValidationError("\(trainURL.path) not found; pass --corpus with the folder that holds CoNLL-2003's train.txt.")
        }
        let trainCorpus = try CoNLLReader().read(contentsOf: trainURL)
        let labelSet = try LabelSet(collecting: trainCorpus)
        let classifier = try TokenClassifier(directory: URL(fileURLWithPath: model), labels: labelSet.labels,
                                             maxTokens: batchTokens, seed: seed, precision: precision.resolved)
        let engine = classifier.model
        print("matrix products in \(engine.precision)")
        let windowing = try Windowing(maxLength: min(engine.config.maxPositionEmbeddings, batchTokens))
        let data = try classifier.dataset(trainCorpus, labelled: true, windowing: windowing)
        let plan = try data.plan(try BatchPlanner(maxTokens: batchTokens, maxSequences: batchSentences == 0 ? nil : batchSentences),
                                 order: .shuffled(seed: seed, epoch: 0))
        let bound = (batchSentences == 0 ? "" : "≤\(batchSentences) sentences and ") + "≤\(batchTokens) tokens"
        guard plan.count >= warmup + steps else {
            throw ValidationError("an epoch has \(plan.count) batches: ask for at most \(plan.count - warmup) --steps")
        }
        let step = try TrainingStep(model: engine, optimizer: AdamW(layout: engine.layout, learningRate: 5e-5, weightDecay: 0.01),
                                    communicator: world, maxGradNorm: maxGradNorm, reduction: allreduce)
        print("train-step benchmark: \(model) on \(trainURL.path), \(plan.count) batches of \(bound) an epoch, "
              + (world.size > 1 ? "\(world.size) ranks × " : "")
              + "\(Parallel.threadCount) threads; \(warmup) warm-up + \(steps) timed steps")

        let phases = ["forward", "backward", "allreduce (gradients, loss)", "norm, AdamW, clip, zeroing"]
        var phaseSeconds = [Double](repeating: 0, count: phases.count)
        // Buckets by the batch's longest sequence: the planner groups sequences of about one length.
        let bucketBounds = [8, 16, 32, 64, Int.max]
        var bucketTokens = [Int](repeating: 0, count: bucketBounds.count)
        var bucketSequences = [Int](repeating: 0, count: bucketBounds.count)
        var bucketSeconds = [Double](repeating: 0, count: bucketBounds.count)
        var bucketBatches = [Int](repeating: 0, count: bucketBounds.count)
        var tokens = 0, lossSum = 0.0

        // Attention's kernels alone on the same batches (random q, k, v, every layer forward and backward, with
        // the config's dropout), to show what the per-(sequence, head) work costs inside the step.
        let C = engine.config.hiddenSize, NH = engine.config.numAttentionHeads, L = engine.config.numHiddenLayers
        let attentionScratch = AttentionScratch(maxSequenceLength: windowing.maxLength, headSize: C / NH,
                                                workers: Parallel.threadCount)
        let qkv = FloatSlab(count: 3 * batchTokens * C), grads = FloatSlab(count: 4 * batchTokens * C)
        var fill = Tensors.SplitMix64(seed: 9)
        for i in 0 ..< qkv.count { qkv.buffer[i] = fill.nextUniform() - 0.5 }
        for i in 0 ..< grads.count { grads.buffer[i] = fill.nextUniform() - 0.5 }
        let attentionDropout = AttentionDropout(probability: Float(engine.config.attentionProbsDropoutProb),
                                                random: CounterRandom(key: 5))
        var attentionSeconds = 0.0
        func timeAttention(_ batch: PackedBatch) -> Double {
            let T = batch.tokenCount, B = batch.sequenceCount
            let q = qkv.pointer, k = q + T * C, v = k + T * C
            let out = grads.pointer, dq = out + T * C, dk = dq + T * C, dv = dk + T * C
            let start = DispatchTime.now().uptimeNanoseconds
            batch.sequenceOffsets.withUnsafeBufferPointer { offsets in
                for _ in 0 ..< L {
                    attentionForward(out, q, k, v, offsets.baseAddress!, B: B, NH: NH, C: C,
                                     dropout: attentionDropout, scratch: attentionScratch)
                    attentionBackward(dq, dk, dv, out, q, k, v, offsets.baseAddress!, B: B, NH: NH, C: C,
                                      dropout: attentionDropout, scratch: attentionScratch)
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var bucketAttention = [Double](repeating: 0, count: 5)

        // The last backward's timeline under MPI: when each part of the slab was final and summed, summed over steps.
        var timeline = [(ready: Double, started: Double, finished: Double)](repeating: (0, 0, 0), count: step.buckets.count)
        var backwardLength = 0.0, timelineSteps = 0
        var forwards: UInt64 = 0
        for index in 0 ..< warmup + steps {
            let batch = data.batch(plan[index])
            let timed = index >= warmup
            // The step as `train` runs it, timed phase by phase (each rank its own share of the batch).
            let outcome = try step.run([plan[index]], of: data, learningRate: 5e-5, forwards: &forwards, step: index)
            let spent = [outcome.forwardSeconds, outcome.backwardSeconds, outcome.reduceSeconds, outcome.updateSeconds]
            let loss = outcome.loss
            guard timed else { continue }
            for p in phases.indices { phaseSeconds[p] += spent[p] }
            if outcome.buckets.count == timeline.count {
                for (i, bucket) in outcome.buckets.enumerated() {
                    timeline[i].ready += bucket.ready
                    timeline[i].started += bucket.started ?? 0
                    timeline[i].finished += bucket.finished ?? 0
                }
                backwardLength += outcome.lastBackwardSeconds
                timelineSteps += 1
            }
            let bucket = bucketBounds.firstIndex { batch.maxSequenceLength <= $0 }!
            bucketTokens[bucket] += batch.tokenCount
            bucketSequences[bucket] += batch.sequenceCount
            bucketSeconds[bucket] += spent.reduce(0, +)
            bucketBatches[bucket] += 1
            tokens += batch.tokenCount
            lossSum += Double(loss)
            // Attention alone on the whole batch means nothing beside one rank's share of it.
            let attention = world.size == 1 ? timeAttention(batch) : 0
            attentionSeconds += attention
            bucketAttention[bucket] += attention
        }

        let total = phaseSeconds.reduce(0, +)
        print(String(format: "%d steps, %d tokens in %.2f s: %.0f tokens/s (%.1f ms/step), mean loss %.4f",
                     steps, tokens, total, Double(tokens) / total, 1000 * total / Double(steps), lossSum / Double(steps)))
        print("per phase (ms/step, share):")
        for p in phases.indices {
            print("  " + phases[p].padding(toLength: 30, withPad: " ", startingAt: 0)
                  + String(format: "%8.2f  %5.1f%%", 1000 * phaseSeconds[p] / Double(steps), 100 * phaseSeconds[p] / total))
        }
        if world.size > 1 {
            print("gradients summed \(step.reduction == .overlap ? "layer by layer during backward (--allreduce overlap)" : "after backward (--allreduce after-backward)")")
        }
        if timelineSteps > 0 {
            let n = Double(timelineSteps)
            print(String(format: "rank 0's backward, %.2f ms/step; each part of the gradient slab (floats: final at, summed from, to; ms):", 1000 * backwardLength / n))
            for (range, times) in zip(step.buckets, timeline) {
                print(String(format: "  %9d: %8.2f", range.count, 1000 * times.ready / n)
                      + (step.reduction == .overlap ? String(format: "  %8.2f  %8.2f", 1000 * times.started / n, 1000 * times.finished / n) : ""))
            }
        }
        print(String(format: "attention kernels alone (%d layers, forward + backward, timed apart on the same batches): "
                     + "%.2f ms/step, %.1f%% of a step", L, 1000 * attentionSeconds / Double(steps), 100 * attentionSeconds / total))
        print("per bucket (batch's longest sequence): batches, sequences/batch, tokens/s, attention's share")
        var lower = 1
        for b in bucketBounds.indices {
            defer { lower = bucketBounds[b] == Int.max ? lower : bucketBounds[b] + 1 }
            guard bucketBatches[b] > 0 else { continue }
            let name = bucketBounds[b] == Int.max ? "\(lower)+" : "\(lower)-\(bucketBounds[b])"
            print("  " + name.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "%4d  %6.1f  %8.0f tokens/s", bucketBatches[b],
                         Double(bucketSequences[b]) / Double(bucketBatches[b]), Double(bucketTokens[b]) / bucketSeconds[b])
                  + String(format: "  %5.1f%%", 100 * bucketAttention[b] / bucketSeconds[b]))
        }
        printPrimitiveCache()
    }
}

extension GradientReduction: ExpressibleByArgument {}
