import BERT
import DataParallel
import Datasets
import Foundation

/// One optimizer step, the unit the trainer and the train-step benchmark share: forward and backward over
/// the step's micro-batches, the gradient summed over the ranks, clipping, AdamW, and gradients zeroed.
///
/// Under MPI each micro-batch (a list of windows planned for the whole step, `--batch-tokens` tokens at most)
/// is split between the ranks by tokens, in order; each rank runs its part. Every rank divides its loss's
/// gradient by the micro-batch's labelled tokens over all ranks, so that the allreduce's sum is the gradient
/// of the mean loss one process computes over the whole micro-batch; clipping and AdamW then run on the
/// same gradient everywhere and the weights stay equal. Alone, the step is what it always was.
public final class TrainingStep {
    public let model: BertForTokenClassification
    public var optimizer: AdamW
    public let communicator: any Communicator
    /// Gradient clipping's L2 norm (0 or less for none).
    public let maxGradNorm: Float

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
        /// This rank's time in each phase.
        public var forwardSeconds = 0.0, backwardSeconds = 0.0, reduceSeconds = 0.0, updateSeconds = 0.0
    }

    public init(model: BertForTokenClassification, optimizer: AdamW, communicator: any Communicator, maxGradNorm: Float) {
        self.model = model
        self.optimizer = optimizer
        self.communicator = communicator
        self.maxGradNorm = maxGradNorm
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
        for windows in microBatches {
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
                model.backward()
                model.gradientNormalizer = nil
            }
            outcome.backwardSeconds += lap()
            outcome.lossSum += microLoss
            outcome.tokens += tokens
        }
        if microBatches.count > 1 {
            let scale = 1 / Float(microBatches.count)
            for i in model.gradients.indices { model.gradients[i] *= scale }
        }
        outcome.backwardSeconds += lap()
        if distributed {
            try communicator.allReduceSum(model.gradients)
            outcome.reduceSeconds += lap()
        }
        // Clipping's scale, the update and the zeroing of the gradients are one pass over memory.
        let norm = gradientNorm(UnsafeBufferPointer(model.gradients))
        optimizer.step(parameters: model.parameters.baseAddress!, consumingGradients: model.gradients.baseAddress!,
                       learningRate: learningRate, gradientScale: clipCoefficient(norm: norm, maxNorm: maxGradNorm))
        outcome.gradientNorm = norm
        outcome.updateSeconds += lap()
        return outcome
    }
}
