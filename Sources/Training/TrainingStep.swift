import BERT
import DataParallel
import Datasets
import Foundation

/// How a data-parallel step sums its gradients over the ranks.
public enum GradientReduction: String, Codable, Sendable, CaseIterable {
    /// Each part of the gradient slab (the classifier, each encoder layer, the embeddings) is summed on a
    /// thread of its own as soon as the last micro-batch's backward has finished it, while backward goes on
    /// with the layers below (PyTorch DDP's buckets).
    case overlap
    /// The whole slab in one allreduce once backward is done.
    case afterBackward = "after-backward"

    /// Measured on one host (2 ranks sharing 2 cores), summing after backward is the faster: see the README's
    /// data-parallel section.
    public static let standard = GradientReduction.afterBackward
}

/// One optimizer step, the unit the trainer and the train-step benchmark share: forward and backward over
/// the step's micro-batches, the gradient summed over the ranks, clipping, AdamW, and gradients zeroed.
///
/// Under MPI each micro-batch (a list of windows planned for the whole step, `--batch-tokens` tokens at most)
/// is split between the ranks by tokens, in order; each rank runs its part. Every rank divides its loss's
/// gradient by the micro-batch's labelled tokens over all ranks, so that the allreduce's sum is the gradient
/// of the mean loss one process computes over the whole micro-batch; clipping and AdamW then run on the
/// same gradient everywhere and the weights stay equal. Alone, the step is what it always was.
///
/// With `.overlap` the last micro-batch's backward hands each part of the slab to a summing thread as soon as
/// it is final (see `GradientReduction`); earlier micro-batches only accumulate. Each element's sum is the
/// same additions as the whole slab's (for 2 ranks, one addition), so the gradients are those of
/// `.afterBackward`; clipping and AdamW start once every part is summed.
public final class TrainingStep {
    public let model: BertForTokenClassification
    public var optimizer: AdamW
    public let communicator: any Communicator
    /// Gradient clipping's L2 norm (0 or less for none).
    public let maxGradNorm: Float
    /// How the gradients are summed over the ranks (alone there is nothing to sum): `.afterBackward` when
    /// `.overlap` was asked of an MPI library that grants no thread support.
    public let reduction: GradientReduction
    /// The summing thread of `.overlap` under MPI.
    private let sums: BackgroundSums?
    /// The parts of the slab in the order backward finishes them.
    public let buckets: [Range<Int>]

    /// What one step did, summed over the ranks.
    public struct Outcome: Sendable {
        /// The sum over micro-batches of each micro-batch's mean loss over its labelled tokens.
        public var lossSum: Double
        public var microBatches: Int
        /// The mean over micro-batches of each micro-batch's mean loss.
        public var loss: Double { lossSum / Double(max(1, microBatches)) }
        /// The gradient's L2 norm before clipping.
        public var gradientNorm: Float
        /// Tokens of the whole step (every rank's).
        public var tokens: Int
        /// Whether some rank asked to stop after this step.
        public var stopRequested: Bool
        /// This rank's time in each phase; with `.overlap`, `reduceSeconds` is the wait for the sums after
        /// backward (and the loss's sums), not the time they took.
        public var forwardSeconds = 0.0, backwardSeconds = 0.0, reduceSeconds = 0.0, updateSeconds = 0.0
        /// The last micro-batch's backward on this rank: its length, and when each part of the slab was final
        /// and (with `.overlap`) summed, in seconds from its start. Empty alone, or when the rank had no share.
        public var lastBackwardSeconds = 0.0
        public var buckets: [BucketTiming] = []
    }

    /// One part of the gradient slab in the last backward of a step, in seconds from that backward's start.
    public struct BucketTiming: Sendable {
        public var floats: Int
        /// When backward had finished it.
        public var ready: Double
        /// When its sum over the ranks started and ended (`.overlap` only).
        public var started: Double?
        public var finished: Double?
    }

    /// `reduction` `.overlap` needs a communicator callable from another thread; without one the step sums after
    /// backward (see `reduction`).
    public init(model: BertForTokenClassification, optimizer: AdamW, communicator: any Communicator, maxGradNorm: Float,
                reduction: GradientReduction = .standard) throws {
        self.model = model
        self.optimizer = optimizer
        self.communicator = communicator
        self.maxGradNorm = maxGradNorm
        // A library without thread support sums after backward: the same gradients, without the overlap.
        let overlap = reduction == .overlap && communicator.size > 1
        self.reduction = overlap && !communicator.callsFromAnyThread ? .afterBackward : reduction
        sums = overlap && communicator.callsFromAnyThread ? try BackgroundSums(communicator: communicator) : nil
        buckets = Self.buckets(layout: model.layout, layers: model.config.numHiddenLayers)
    }

    /// The parts of a slab laid out by `layout` in the order `BertForTokenClassification.backward` finishes them:
    /// the classifier, the encoder layers from the last, the embeddings.
    public static func buckets(layout: ParameterLayout, layers: Int) -> [Range<Int>] {
        func start(_ name: String) -> Int {
            guard let entry = layout.entry(named: name) else { preconditionFailure("layout has no \(name)") }
            return entry.offset
        }
        let classifier = start("classifier.weight")
        let layerStarts = (0 ..< layers).map { start("bert.encoder.layer.\($0).attention.self.query.weight") } + [classifier]
        return [classifier ..< layout.totalCount]
            + (0 ..< layers).reversed().map { layerStarts[$0] ..< layerStarts[$0 + 1] }
            + [0 ..< layerStarts[0]]
    }

    /// This rank's windows of a micro-batch (a contiguous run of `windows`, balanced by tokens) and where its
    /// first token stands in the whole micro-batch (the tokens of the ranks before it), which keys the dropout
    /// masks as one process would draw them.
    public func share(of windows: [Int], in dataset: TokenClassificationDataset) -> (windows: [Int], firstToken: Int) {
        guard communicator.size > 1 else { return (windows, 0) }
        let costs = windows.map { dataset.windows[$0].tokenCount }
        let part = Shards.contiguous(costs: costs, parts: communicator.size)[communicator.rank]
        return (Array(windows[part]), costs[..<part.lowerBound].reduce(0, +))
    }

    /// Runs one step over `microBatches` (window indices of `dataset`, each planned for the whole step) at
    /// `learningRate`. `forwards` counts training forwards over the whole run and keys the dropout masks; it
    /// advances by one per micro-batch on every rank. `stopRequested` is this rank's wish to stop after the
    /// step; the outcome says whether any rank had it. A loss that is not finite on any rank is an error on all.
    public func run(_ microBatches: [[Int]], of dataset: TokenClassificationDataset, learningRate: Float,
                    forwards: inout UInt64, step: Int, stopRequested: Bool = false) throws -> Outcome {
        precondition(!microBatches.isEmpty, "a step has at least one micro-batch")
        var outcome = Outcome(lossSum: 0, microBatches: microBatches.count, gradientNorm: 0, tokens: 0, stopRequested: stopRequested)
        let distributed = communicator.size > 1
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return Double(now - clock) / 1e9
        }
        // Accumulated gradients are averaged over the micro-batches: each part scaled before it is summed.
        let scale: Float? = microBatches.count > 1 ? 1 / Float(microBatches.count) : nil
        let model = self.model
        func scaled(_ range: Range<Int>) -> UnsafeMutableBufferPointer<Float> {
            let part = UnsafeMutableBufferPointer(rebasing: model.gradients[range])
            if let scale { for i in part.indices { part[i] *= scale } }
            return part
        }
        var overlapped = false, lastBackwardStart = 0.0
        for (index, windows) in microBatches.enumerated() {
            let (mine, firstToken) = share(of: windows, in: dataset)
            var loss: Float = 0, labelled = 0, tokens = 0
            if !mine.isEmpty {
                let batch = dataset.batch(mine)
                model.trainingForwardCount = forwards
                model.dropoutFirstToken = firstToken
                defer { model.dropoutFirstToken = 0 }
                guard let batchLoss = try model.forward(inputIDs: batch.inputIDs, positionIDs: batch.positionIDs,
                                                        sequenceOffsets: batch.sequenceOffsets, labels: batch.labels,
                                                        training: true) else { preconditionFailure("a labelled forward returns a loss") }
                loss = batchLoss
                labelled = batch.labels.lazy.filter { $0 != ignoredLabelID }.count
                tokens = batch.tokenCount
            }
            forwards &+= 1
            outcome.forwardSeconds += lap()
            var microLoss = Double(loss), globalLabelled = labelled
            if distributed {
                // The loss's sum, the labelled tokens and the tokens of the whole micro-batch, and whether any
                // rank wants to stop: one small sum between forward and backward.
                let sums = try communicator.allReduceSum([Double(loss) * Double(labelled), Double(labelled), Double(tokens),
                                                          outcome.stopRequested ? 1 : 0])
                globalLabelled = Int(sums[1])
                microLoss = globalLabelled == 0 ? 0 : sums[0] / sums[1]
                tokens = Int(sums[2])
                outcome.stopRequested = sums[3] > 0
                outcome.reduceSeconds += lap()
            }
            guard microLoss.isFinite else { throw TrainingError.nonFiniteLoss(step: step) }
            if !mine.isEmpty {
                model.gradientNormalizer = distributed ? globalLabelled : nil
                let last = index == microBatches.count - 1, started = BackgroundSums.now()
                lastBackwardStart = started
                if distributed && last {
                    // The last backward finishes each part of the slab in turn: time it, and sum it at once.
                    let sums = self.sums
                    overlapped = sums != nil
                    model.gradientsFinal = { range in
                        outcome.buckets.append(BucketTiming(floats: range.count, ready: BackgroundSums.now() - started))
                        sums?.sum(scaled(range))
                    }
                }
                defer { model.gradientsFinal = nil }
                model.backward()
                model.gradientNormalizer = nil
                if distributed && last { outcome.lastBackwardSeconds = BackgroundSums.now() - started }
            }
            outcome.backwardSeconds += lap()
            outcome.lossSum += microLoss
            outcome.tokens += tokens
        }
        if let sums {
            // A rank without a share of the last micro-batch sums every part now, in backward's order.
            if !overlapped { for range in buckets { sums.sum(scaled(range)) } }
            outcome.backwardSeconds += lap()
            let timings = try sums.wait()
            outcome.reduceSeconds += lap()
            if overlapped {
                for (i, timing) in zip(outcome.buckets.indices, timings) {
                    outcome.buckets[i].started = timing.started - lastBackwardStart
                    outcome.buckets[i].finished = timing.finished - lastBackwardStart
                }
            }
        } else {
            if scale != nil { _ = scaled(0 ..< model.layout.totalCount) }
            outcome.backwardSeconds += lap()
            if distributed {
                try communicator.allReduceSum(model.gradients)
                outcome.reduceSeconds += lap()
            }
        }
        // Clipping's scale, the update and the zeroing of the gradients are one pass over memory, which skips the
        // word embedding's rows no batch of the step had (alone: summed over ranks, any row may be non-zero).
        let parameters = model.parameters.baseAddress!
        model.consumeGradients { gradients, sparse in
            let sparse = distributed ? nil : sparse
            let norm = gradientNorm(UnsafeBufferPointer(gradients), sparse: sparse)
            optimizer.step(parameters: parameters, consumingGradients: gradients.baseAddress!, learningRate: learningRate,
                           gradientScale: clipCoefficient(norm: norm, maxNorm: maxGradNorm), sparse: sparse)
            outcome.gradientNorm = norm
        }
        outcome.updateSeconds += lap()
        return outcome
    }
}
