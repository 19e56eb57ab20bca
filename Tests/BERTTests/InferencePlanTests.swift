import CKernels
import Foundation
import Tensors
import Testing
@testable import BERT

/// A model built for inference: the same forward as a training model's without dropout, in a fraction of the
/// memory, and no way to train it by mistake.
@Suite struct InferencePlanTests {
    /// Three layers, so the shared layer buffers are reused by a layer that follows another; wide enough that
    /// BF16 rounding shows in the logits.
    static func config(_ act: Activation) -> BertConfig {
        BertConfig(vocabSize: 40, hiddenSize: 32, numHiddenLayers: 3, numAttentionHeads: 4, intermediateSize: 48,
                   hiddenAct: act, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1, maxPositionEmbeddings: 20,
                   typeVocabSize: 2, initializerRange: 0.5, layerNormEps: 1e-12)
    }

    /// all-MiniLM-L6-v2's shape (the default encoder), with CoNLL-2003's 9 NER labels.
    static let miniLM = BertConfig(vocabSize: 30522, hiddenSize: 384, numHiddenLayers: 6, numAttentionHeads: 12,
                                   intermediateSize: 1536)

    /// Logits, loss and last hidden state of both purposes agree bit for bit, batch after batch (a full batch,
    /// then the tiny one, then a single sequence), in single precision and BF16, for both GELU forms (the
    /// inference plan runs GELU in place), when both multiply through the same library (the packed kernel of
    /// single-precision inference has its own test below).
    @Test(arguments: [GEMMPrecision.fp32, .bf16], [Activation.gelu, .geluNew])
    func inferenceForwardIsBitIdenticalToTrainingForwardWithoutDropout(precision: GEMMPrecision, act: Activation) throws {
        let config = Self.config(act)
        let trained = perturbedModel(config, maxTokens: 16, seed: 5)
        let training = BertForTokenClassification(config: config, numLabels: 5, maxTokens: 16, seed: 5, precision: precision)
        let inference = BertForTokenClassification(config: config, numLabels: 5, maxTokens: 16, seed: 5,
                                                   precision: precision, purpose: .inference,
                                                   initializingParameters: true, fp32InferenceProducts: .library)
        withExtendedLifetime(trained) {
            _ = training.parameters.update(fromContentsOf: trained.parameters)
            _ = inference.parameters.update(fromContentsOf: trained.parameters)
        }
        #expect(training.purpose == .training && inference.purpose == .inference)

        typealias Batch = (ids: [Int32], positions: [Int32], offsets: [Int32], labels: [Int32])
        let tiny = TinyBatch()
        let full: Batch = ((0 ..< 16).map { Int32(($0 * 7 + 3) % 40) },
                           (0 ..< 9).map { Int32($0) } + (0 ..< 7).map { Int32($0) },
                           [0, 9, 16], (0 ..< 16).map { $0 % 4 == 1 ? -100 : Int32($0 % 5) })
        let batches: [Batch] = [full, (tiny.ids, tiny.positions, tiny.offsets, tiny.labels),
                                ([4, 8, 15], [0, 1, 2], [0, 3], [1, 2, 3])]
        for (index, batch) in batches.enumerated() {
            // A training forward with dropout in between leaves no trace on the next forward without it.
            try training.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                 labels: batch.labels, training: true)
            let trainingLoss = try #require(try training.forward(
                inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                labels: batch.labels, training: false))
            let inferenceLoss = try #require(try inference.forward(
                inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                labels: batch.labels, training: false))
            let differing = zip(training.logits, inference.logits).enumerated()
                .filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
            #expect(inference.logits.count == batch.ids.count * 5 && training.logits.count == inference.logits.count)
            #expect(differing.isEmpty, "batch \(index): \(differing.count) logits differ, first \(differing.first.map { "\($0)" } ?? "")")
            #expect(trainingLoss.bitPattern == inferenceLoss.bitPattern, "batch \(index): loss \(trainingLoss) vs \(inferenceLoss)")
            #expect(zip(training.lastHiddenState, inference.lastHiddenState).allSatisfy { $0.bitPattern == $1.bitPattern },
                    "batch \(index): last hidden states differ")
        }
    }

    /// In single precision where the packed kernel runs, an inference model multiplies on weights laid out once:
    /// its logits and loss are the Double reference's within 1e-4 and 1e-5 (the training forward's tolerances),
    /// also after the parameters change (laid out again), and each sequence gets the same bits alone as in the
    /// batch (every output of the packed products is the bias plus its terms in order, whatever the batch).
    @Test(.enabled(if: bt_packed_sgemm_available() != 0, "the processor gives no AVX2 and FMA"),
          arguments: [Activation.gelu, .geluNew])
    func packedSinglePrecisionInferenceMatchesTheDoubleReferenceAndIsTheSameAloneAsInABatch(act: Activation) throws {
        let config = tinyConfig(act), batch = TinyBatch()
        let model = BertForTokenClassification(config: config, numLabels: 5, maxTokens: 16, seed: 1, precision: .fp32,
                                               purpose: .inference, initializingParameters: false,
                                               fp32InferenceProducts: .packed)
        for seed: UInt64 in [1, 2] {
            let trained = perturbedModel(config, seed: seed)
            withExtendedLifetime(trained) { _ = model.parameters.update(fromContentsOf: trained.parameters) }
            let differences = try differencesFromReference(model, batch)
            #expect(differences.logits < 1e-4, "parameters \(seed): largest logit difference \(differences.logits)")
            #expect(differences.loss < 1e-5, "parameters \(seed): loss difference \(differences.loss)")
            let inBatch = Array(model.logits)
            for b in 0 ..< batch.offsets.count - 1 {
                let range = Int(batch.offsets[b]) ..< Int(batch.offsets[b + 1])
                try model.forward(inputIDs: Array(batch.ids[range]), positionIDs: Array(batch.positions[range]),
                                  sequenceOffsets: [0, Int32(range.count)], labels: nil, training: false)
                let alone = Array(model.logits), together = inBatch[range.lowerBound * 5 ..< range.upperBound * 5]
                #expect(zip(alone, together).allSatisfy { $0.bitPattern == $1.bitPattern },
                        "parameters \(seed), sequence \(b): logits alone \(alone), in the batch \(Array(together))")
            }
        }
    }

    /// Reading the parameters through `parameterValues` (as the server's pool does while a model runs) leaves the
    /// packed weights as they are, where asking for `parameters` lays them out again: a write through a buffer kept
    /// from before the last forward shows in the logits only after `parameters` is asked for.
    @Test(.enabled(if: bt_packed_sgemm_available() != 0, "the processor gives no AVX2 and FMA"))
    func readingParameterValuesLeavesThePackedWeightsAlone() throws {
        let config = tinyConfig(), batch = TinyBatch()
        let model = BertForTokenClassification(config: config, numLabels: 5, maxTokens: 16, seed: 1, precision: .fp32,
                                               purpose: .inference, initializingParameters: false,
                                               fp32InferenceProducts: .packed)
        let trained = perturbedModel(config)
        withExtendedLifetime(trained) { _ = model.parameters.update(fromContentsOf: trained.parameters) }
        func logits() throws -> [Float] {
            try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                              labels: nil, training: false)
            return Array(model.logits)
        }
        let before = try logits()
        let kept = model.parameters
        #expect(try logits() == before)
        let query = try #require(model.layout.entry(named: "bert.encoder.layer.0.attention.self.query.weight"))
        kept[query.range.lowerBound] += 1
        #expect(model.parameterValues[query.range.lowerBound] == kept[query.range.lowerBound])
        #expect(try logits() == before, "reading parameterValues laid the weights out again")
        _ = model.parameters
        #expect(try logits() != before, "asking for parameters did not lay the weights out again")
    }

    /// In BF16 an inference model keeps its projection weights packed for blocks of rows where oneDNN runs the
    /// products: at 600 tokens (two blocks and a rest) its logits are those of the training model's forward on the
    /// row-major weights, and after the parameters change (packed again) those of the new parameters. (The
    /// classifier, single precision in either, multiplies through the library in both here.) Where the AMX kernel
    /// runs, the products whose outputs a pass over their rows reads next run in blocks of rows with that pass (the
    /// feed-forward output only with an intermediate width of whole steps of the kernel's depth: 64, not 48).
    @Test(arguments: [48, 64])
    func packedBF16WeightsGiveTheLogitsOfTheRowMajorWeights(intermediateSize: Int) throws {
        var config = Self.config(.gelu)
        config.intermediateSize = intermediateSize
        let tokens = 600
        let training = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5, precision: .bf16)
        let inference = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5,
                                                   precision: .bf16, purpose: .inference, initializingParameters: true,
                                                   fp32InferenceProducts: .library)
        let ids = (0 ..< tokens).map { Int32(($0 * 7 + 3) % 40) }
        let positions = (0 ..< tokens).map { Int32($0 % 20) }
        let offsets = (0 ... tokens / 20).map { Int32($0 * 20) }
        for seed: UInt64 in [5, 6] {
            let trained = perturbedModel(config, maxTokens: 16, seed: seed)
            withExtendedLifetime(trained) {
                _ = training.parameters.update(fromContentsOf: trained.parameters)
                _ = inference.parameters.update(fromContentsOf: trained.parameters)
            }
            for model in [training, inference] {
                try model.forward(inputIDs: ids, positionIDs: positions, sequenceOffsets: offsets, labels: nil, training: false)
            }
            let differing = zip(training.logits, inference.logits).filter { $0.0.bitPattern != $0.1.bitPattern }
            #expect(inference.logits.count == tokens * 5 && training.logits.count == inference.logits.count)
            #expect(differing.count == 0, "parameters \(seed): \(differing.count) logits differ, first \(differing.first.map { "\($0)" } ?? "")")
        }
    }

    /// In INT8 every input row is quantized on its own scale and summed exactly, so a sequence gets the same logits,
    /// bit for bit, alone as among 600 tokens (two whole blocks of 256 rows and 88 left over, rounded up to 96),
    /// wherever the blocks cut it; and after the parameters change, those of the new parameters.
    @Test(.enabled(if: BLAS.int8Runs, "INT8 products need oneDNN with VNNI or AMX kernels"))
    func int8LogitsOfASequenceAreTheSameAloneAsInABatch() throws {
        let config = Self.config(.gelu), tokens = 600
        let model = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5,
                                               precision: .int8, purpose: .inference)
        let ids = (0 ..< tokens).map { Int32(($0 * 7 + 3) % 40) }
        let positions = (0 ..< tokens).map { Int32($0 % 20) }
        let offsets = (0 ... tokens / 20).map { Int32($0 * 20) }
        for seed: UInt64 in [5, 6] {
            let trained = perturbedModel(config, maxTokens: 16, seed: seed)
            withExtendedLifetime(trained) { _ = model.parameters.update(fromContentsOf: trained.parameters) }
            try model.forward(inputIDs: ids, positionIDs: positions, sequenceOffsets: offsets, labels: nil, training: false)
            let batch = Array(model.logits)
            var differing = 0
            for sequence in [0, 12, 25, 29] {          // 12 and 25 straddle the blocks' edges at 256 and 512
                let range = sequence * 20 ..< (sequence + 1) * 20
                try model.forward(inputIDs: Array(ids[range]), positionIDs: Array(positions[range]),
                                  sequenceOffsets: [0, 20], labels: nil, training: false)
                differing += zip(model.logits, batch[range.lowerBound * 5 ..< range.upperBound * 5])
                    .filter { $0.bitPattern != $1.bitPattern }.count
            }
            #expect(differing == 0, "parameters \(seed): \(differing) logits differ between a sequence alone and in the batch")
        }
    }

    /// A packed batch of sequences of uneven lengths (3 to 20 tokens) of about `tokens` tokens, so that lanes
    /// cut it between blocks of 256 rows at other places than the batch in one piece does.
    static func unevenBatch(tokens: Int) -> (ids: [Int32], positions: [Int32], offsets: [Int32]) {
        let lengths = [7, 20, 13, 3, 18, 11, 20, 9]
        var ids: [Int32] = [], positions: [Int32] = [], offsets: [Int32] = [0]
        var next = 0
        while ids.count + lengths[next % lengths.count] <= tokens {
            let length = lengths[next % lengths.count]
            ids += (0 ..< length).map { Int32((ids.count + $0 * 7 + 3) % 40) }
            positions += (0 ..< length).map { Int32($0) }
            offsets.append(Int32(ids.count))
            next += 1
        }
        return (ids, positions, offsets)
    }

    /// An inference forward splits a batch's sequences between lanes, each running the whole encoder on a thread
    /// of its own on its own rows and scratch, taking parts in turn: the logits and the last hidden state are
    /// those of the same batch run in one piece, bit for bit, in every precision (each row gets the same
    /// operations wherever it falls, as a sentence alone and in a batch do), batch after batch, for two parameter
    /// sets, in parts of the default size and in many small ones.
    @Test(.enabled(if: BLAS.productsRunOnCallingThread, "lanes multiply on oneDNN"),
          arguments: [GEMMPrecision.fp32, .bf16] + (BLAS.int8Runs ? [.int8] : []))
    func lanesGiveTheLogitsOfTheBatchInOnePiece(precision: GEMMPrecision) throws {
        // Products two and more steps of the AMX kernel deep (64, 128), where it rounds differently from oneDNN.
        var config = Self.config(.gelu)
        let tokens = 600
        config.hiddenSize = 64
        config.intermediateSize = 128
        let model = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5,
                                               precision: precision, purpose: .inference)
        try #require(model.laneCapacity >= 2, "a model plans scratch for one lane a thread")
        for (seed, size, partTokens) in [(UInt64(5), tokens, 24), (5, tokens, BertForTokenClassification.defaultMinimumPartTokens),
                                         (6, 300, 24)] {
            model.minimumPartTokens = partTokens
            let trained = perturbedModel(config, maxTokens: 16, seed: seed)
            withExtendedLifetime(trained) { _ = model.parameters.update(fromContentsOf: trained.parameters) }
            let batch = Self.unevenBatch(tokens: size)
            func run(lanes: Int) throws -> (logits: [Float], hidden: [Float]) {
                model.laneLimit = lanes
                try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                  labels: nil, training: false)
                #expect(model.lastLaneCount == lanes, "\(size) tokens asked for \(lanes) lanes and ran \(model.lastLaneCount)")
                return (Array(model.logits), Array(model.lastHiddenState))
            }
            let inLanes = try run(lanes: 2)
            let parts = model.lastInferenceParts.count
            #expect(partTokens > 100 ? parts >= 2 : parts > 6, "\(size) tokens in parts of \(partTokens) ran \(parts) parts")
            let inOnePiece = try run(lanes: 1)
            #expect(model.lastInferenceParts.isEmpty)
            let differing = zip(inLanes.logits, inOnePiece.logits).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(inLanes.logits.count == batch.ids.count * 5 && differing == 0,
                    "\(precision), parameters \(seed): \(differing) of \(inLanes.logits.count) logits differ")
            #expect(zip(inLanes.hidden, inOnePiece.hidden).allSatisfy { $0.bitPattern == $1.bitPattern },
                    "\(precision), parameters \(seed): the last hidden states differ")
        }
    }

    /// The parts an inference forward hands out take whole consecutive sequences, together every row once, each
    /// but the last within half the longest sequence of a (2 · lanes)th of the tokens left before it or of the
    /// minimum, whichever is more, so they shrink towards the end; the last takes what is left, under a part and a
    /// half of the minimum.
    @Test func inferencePartsShrinkTowardsTheEndOfTheBatch() throws {
        let tokens = 2_000
        let model = BertForTokenClassification(config: Self.config(.gelu), numLabels: 5, maxTokens: tokens, seed: 5,
                                               precision: .fp32, purpose: .inference)
        let batch = Self.unevenBatch(tokens: tokens), T = batch.ids.count, B = batch.offsets.count - 1, longest = 20
        try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                          labels: nil, training: false)
        for (lanes, minimum) in [(2, 256), (2, 64), (3, 100)] {
            model.minimumPartTokens = minimum
            let parts = model.inferenceParts(T: T, B: B, lanes: lanes)
            #expect(parts.first?.rows.lowerBound == 0 && parts.last?.rows.upperBound == T)
            #expect(parts.first?.sequences.lowerBound == 0 && parts.last?.sequences.upperBound == B)
            for (part, next) in zip(parts, parts.dropFirst()) {
                #expect(part.rows.upperBound == next.rows.lowerBound && part.sequences.upperBound == next.sequences.lowerBound)
                if next != parts.last { #expect(next.rows.count <= part.rows.count + longest, "\(next) after \(part)") }
            }
            // The last takes what is left: less than half a part more than a part of the minimum.
            #expect(parts.last!.rows.count < minimum + minimum / 2 + longest, "the last part: \(parts.last!)")
            for part in parts {
                #expect(Int(batch.offsets[part.sequences.lowerBound]) == part.rows.lowerBound
                        && Int(batch.offsets[part.sequences.upperBound]) == part.rows.upperBound, "\(part)")
                let target = max(minimum, (T - part.rows.lowerBound) / (2 * lanes))
                if part != parts.last {
                    #expect(abs(part.rows.count - target) <= longest / 2, "\(part) against \(target) tokens")
                }
            }
            #expect(parts.count > 2 * lanes, "\(lanes) lanes, \(minimum) tokens at least: \(parts.count) parts")
            #expect(parts[0].rows.count > parts[parts.count - 2].rows.count + longest, "the first part is the largest")
        }
    }

    /// Lanes take whole consecutive sequences, together every row once, each about an equal share of the tokens
    /// (within the longest sequence), each at least `minimumLaneTokens`; a batch too small for two lanes and a
    /// model limited to one lane run in one piece.
    @Test func lanesTakeWholeSequencesOfAboutTheSameTokens() throws {
        let config = Self.config(.gelu), tokens = 600
        let model = BertForTokenClassification(config: config, numLabels: 5, maxTokens: tokens, seed: 5,
                                               precision: .fp32, purpose: .inference)
        func parts(_ batch: (ids: [Int32], positions: [Int32], offsets: [Int32]), lanes: Int)
            throws -> [BertForTokenClassification.BatchPart] {
            model.laneLimit = lanes
            try model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                              labels: nil, training: false)
            return model.lanes(T: batch.ids.count, B: batch.offsets.count - 1)
        }
        let lanes = min(model.laneCapacity, 3)
        try #require(lanes >= 2, "a model plans scratch for one lane a thread")
        let batch = Self.unevenBatch(tokens: tokens), T = batch.ids.count, B = batch.offsets.count - 1
        let split = try parts(batch, lanes: lanes)
        #expect(split.count == lanes)
        #expect(split.first?.rows.lowerBound == 0 && split.last?.rows.upperBound == T)
        #expect(split.first?.sequences.lowerBound == 0 && split.last?.sequences.upperBound == B)
        for (part, next) in zip(split, split.dropFirst()) {
            #expect(part.rows.upperBound == next.rows.lowerBound && part.sequences.upperBound == next.sequences.lowerBound)
        }
        for part in split {
            #expect(Int(batch.offsets[part.sequences.lowerBound]) == part.rows.lowerBound
                    && Int(batch.offsets[part.sequences.upperBound]) == part.rows.upperBound, "\(part)")
            #expect(abs(part.rows.count - T / lanes) <= 20, "\(part) against \(T / lanes) tokens a lane")
            #expect(part.rows.count >= BertForTokenClassification.minimumLaneTokens)
        }
        let whole = [BertForTokenClassification.BatchPart(rows: 0 ..< T, sequences: 0 ..< B)]
        #expect(try parts(batch, lanes: 1) == whole)
        let small = Self.unevenBatch(tokens: 2 * BertForTokenClassification.minimumLaneTokens - 10)
        #expect(try parts(small, lanes: 2).count == 1)
    }

    /// For the default encoder at `predict`'s default budget of 4,096 tokens, the inference plan holds under a
    /// twentieth of what the training plan does (activations and gradients; the parameters are the same for both):
    /// about 37 MiB against 750.
    @Test func inferencePlanIsUnderATwentiethOfTheTrainingPlanForMiniLM() {
        let training = BertForTokenClassification.plannedFloatCount(config: Self.miniLM, numLabels: 9, maxTokens: 4096,
                                                                    purpose: .training)
        let inference = BertForTokenClassification.plannedFloatCount(config: Self.miniLM, numLabels: 9, maxTokens: 4096,
                                                                     purpose: .inference)
        let mib = { (floats: Int) in Double(floats * 4) / 1_048_576 }
        #expect(inference * 20 < training, "inference \(mib(inference)) MiB, training \(mib(training)) MiB")
        // What the inference plan is: the hidden state and the residual ([T, C] each), one [T, max(4C, F)] buffer
        // for q, k, v and context and then the feed-forward activations, and the small per-token rest
        // (LayerNorm statistics, logits, probabilities, losses).
        let T = 4096, C = 384, F = 1536, large = T * (2 * C + max(4 * C, F))
        #expect(inference >= large && inference < large + 64 * T,
                "inference plan \(inference) floats, against \(large) for its [T, C] and [T, 4C] buffers")
        #expect(mib(inference) < 40, "inference plan \(mib(inference)) MiB")
    }

    /// The static count is what a built model plans, for both purposes.
    @Test(arguments: [ModelPurpose.training, .inference])
    func plannedFloatCountOfABuiltModelMatchesTheStaticCount(purpose: ModelPurpose) {
        let config = Self.config(.gelu)
        let model = BertForTokenClassification(config: config, numLabels: 5, maxTokens: 13, purpose: purpose)
        #expect(model.plannedFloatCount
            == BertForTokenClassification.plannedFloatCount(config: config, numLabels: 5, maxTokens: 13, purpose: purpose))
    }

    @Test func inferenceModelRefusesGradients() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let model = BertForTokenClassification(config: tinyConfig(), numLabels: 5, maxTokens: 16, purpose: .inference)
            _ = model.gradients
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("gradients: this model was built with purpose .inference"), "\(message)")
    }

    @Test func inferenceModelRefusesZeroGradients() async {
        await #expect(processExitsWith: .failure) {
            BertForTokenClassification(config: tinyConfig(), numLabels: 5, maxTokens: 16, purpose: .inference)
                .zeroGradients()
        }
    }

    @Test func inferenceModelRefusesBackward() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let model = BertForTokenClassification(config: tinyConfig(), numLabels: 5, maxTokens: 16, purpose: .inference)
            let batch = TinyBatch()
            _ = try? model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                   labels: batch.labels, training: false)
            model.backward()
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("backward(): this model was built with purpose .inference"), "\(message)")
    }

    @Test func inferenceModelRefusesATrainingForward() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let model = BertForTokenClassification(config: tinyConfig(), numLabels: 5, maxTokens: 16, purpose: .inference)
            let batch = TinyBatch()
            _ = try? model.forward(inputIDs: batch.ids, positionIDs: batch.positions, sequenceOffsets: batch.offsets,
                                   labels: batch.labels, training: true)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("forward(training: true): this model was built with purpose .inference"), "\(message)")
    }
}
