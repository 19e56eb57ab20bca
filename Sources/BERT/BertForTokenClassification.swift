import Foundation
import Tensors

/// BERT with a linear token classifier on top (HuggingFace's `BertForTokenClassification`), as a CPU engine
/// with a hand-written backward.
///
/// Embeddings (word + position + token type) → LayerNorm → dropout → N post-LayerNorm encoder layers →
/// dropout → linear classifier. Parameters and gradients are flat slabs laid out by `layout`; activations
/// are planned once for `maxTokens` and reused, so `forward`, `backward` and `zeroGradients` allocate
/// nothing. Batches are packed: sequences end to end, each attending only within itself.
///
/// A model built for `.inference` plans only what a forward without dropout needs: no gradient slab, no
/// backward scratch, and three buffers that every layer reuses (see `ActivationPlan`), under a twentieth
/// of a training model's activations and gradients for the same token budget. Its logits are bit-identical
/// to a training model's `forward(..., training: false)`.
///
/// Shape legend: T tokens in the batch, B sequences, C channels, F intermediate size, NH heads, NL labels,
/// P parameters.
public final class BertForTokenClassification {
    public let config: BertConfig
    public let numLabels: Int
    public let layout: ParameterLayout
    public let maxTokens: Int
    /// What the model plans memory for; an `.inference` model has no gradients and cannot train.
    public let purpose: ModelPurpose

    private let parameterSlab: FloatSlab       // [P]
    private let gradientSlab: FloatSlab?       // [P]; nil for inference
    private let weights: ParameterViews
    private let grads: ParameterViews?
    private let acts: ActivationPlan
    private let attentionScratch: AttentionScratch
    /// The encoder's projections in BF16 keep their rounded inputs here; nil in single precision.
    private let gemmScratch: GEMMScratch?
    /// Number format of the encoder layers' matrix products (the classifier stays in single precision).
    public let precision: GEMMPrecision
    /// In BF16, the encoder's projection weights as the products take them, converted once per change of the
    /// parameters instead of at every product.
    private let bf16Weights: [LayerBF16Weights]         // L entries; empty in single precision
    /// In single-precision inference where the packed kernel runs (`BLAS.fp32InferenceProducts`), the encoder's
    /// projection weights laid out for it, packed once per change of the parameters; empty otherwise.
    private let packedFP32Weights: [LayerPackedWeights<PackedFP32Weights>]
    /// The classifier's weight laid out for the packed kernel in inference (it multiplies in single precision in
    /// either precision); nil otherwise.
    private let packedClassifier: PackedFP32Weights?
    /// In INT8 (inference), the encoder's projection weights quantized per output channel and packed, once per
    /// change of the parameters (query, key and value as one); empty otherwise.
    private let int8Weights: [LayerInt8Weights]
    /// In INT8, the projections' inputs quantized per token, in two areas that take turns (a product's epilogue
    /// writes the next product's input while its own is read), one pair for each lane (`lanes`); empty
    /// otherwise.
    private let quantizedRows: [(QuantizedRows, QuantizedRows)]
    /// Lanes a forward may split its sequences into, each running the whole encoder on its own thread (`lanes`);
    /// 1 where a lane's products could not run on its thread alone.
    let laneCapacity: Int
    /// A training model's gradient slabs for each lane but the first (which writes the model's own): a lane's
    /// backward accumulates its encoder layers' gradients there, and they are added to the model's and cleared
    /// when the lanes are done; empty for inference.
    private let laneGradients: [(slab: FloatSlab, views: ParameterViews)]
    /// A training model's BF16 scratch for each lane but the first (which takes `gemmScratch`); empty otherwise.
    private let laneGEMMScratch: [GEMMScratch]
    /// How the last forward split the batch (one part: in one piece); its backward splits it the same way.
    private var lastParts: [BatchPart] = []
    /// Each lane's sequence offsets, counted from its first row: laneCapacity × (maxTokens + 1).
    private let laneOffsets: UnsafeMutablePointer<Int32>
    /// The most lanes a forward splits into, in place of the thread count (tests: 1 runs the batch in one piece).
    var laneLimit: Int?
    /// Lanes the last forward ran (1: the batch in one piece).
    var lastLaneCount: Int { max(1, lastParts.count) }
    /// The parts the last inference forward in lanes handed out to them (`inferenceParts`); empty otherwise.
    private(set) var lastInferenceParts: [BatchPart] = []
    /// The fewest tokens a part of `inferenceParts` takes, unless fewer are left (tests lower it to cut small
    /// batches into many parts).
    var minimumPartTokens = BertForTokenClassification.defaultMinimumPartTokens
    /// Whether `bf16Weights`, `packedFP32Weights` or `packedClassifier` may differ from the parameters: set by
    /// anything that can write them.
    private var productWeightsStale = true
    private let activation: GELUForm
    private let maxSequenceLength: Int

    // The last batch, copied into planned storage so backward can read it.
    private let inputIDs: UnsafeMutablePointer<Int32>        // [T]
    private let positionIDs: UnsafeMutablePointer<Int32>     // [T]
    private let labels: UnsafeMutablePointer<Int32>          // [T]
    private let sequenceOffsets: UnsafeMutablePointer<Int32> // [B + 1]
    private var tokens = 0
    private var sequences = 0
    private var labelledTokens = 0
    /// The number of labelled tokens the next backward divides the loss's gradient by; nil for the last
    /// forward's own (its batch's mean). A rank of a data-parallel step sets the whole step's count, so that
    /// the ranks' gradients sum to the gradient of the step's mean loss.
    public var gradientNormalizer: Int?
    /// Where this batch's first token stands in the batch whose dropout masks it shares: a rank running its
    /// share of a data-parallel batch draws the masks one process would draw for those tokens (0 alone).
    public var dropoutFirstToken = 0
    /// Called by `backward` with each part of the gradient slab as soon as backward has finished with it: the
    /// classifier, then each encoder layer from the last, then the embeddings (contiguous slab ranges, in that
    /// order, covering the slab), so that a data-parallel step can sum one over the ranks while backward goes on
    /// below it. A batch run in lanes gives its encoder layers as one range, once the lanes' shares are added.
    public var gradientsFinal: ((Range<Int>) -> Void)?
    /// `dropoutFirstToken` as the last training forward read it; its backward regenerates the same masks.
    private var maskFirstToken = 0
    private var lastHadLabels = false
    private var lastTraining = false

    private let seedRandom: CounterRandom
    private var trainingForwards: UInt64 = 0
    private var dropoutRandom: CounterRandom

    private let hiddenDropout: Float
    private let attentionDropout: Float
    private let classifierDropout: Float

    /// The parameter slab, `layout.totalCount` floats: [P]. Asking for it counts as a change of the parameters
    /// (BF16 models convert, and inference models lay out, their weights again before the next product), so write
    /// through a buffer obtained after the last forward, not one kept from before it; read through
    /// `parameterValues`.
    public var parameters: UnsafeMutableBufferPointer<Float> {
        productWeightsStale = true
        return parameterSlab.buffer
    }
    /// The parameter slab for reading: asking for it changes nothing (the weights the products take stay as they
    /// are), so one thread may copy the parameters while another runs a forward.
    public var parameterValues: UnsafeBufferPointer<Float> { UnsafeBufferPointer(parameterSlab.buffer) }
    /// Gradients in the same layout: [P]. `backward` accumulates here; `zeroGradients` clears.
    /// A model built for inference has none: asking for them stops the program.
    public var gradients: UnsafeMutableBufferPointer<Float> {
        requireTraining("gradients")
        wordRowsTracked = false
        return gradientSlab!.buffer
    }

    /// The word embedding's rows that backward has written since the gradients were last zero (`zeroGradients`
    /// or `consumeGradients`): the rest of that matrix's gradient is exactly zero.
    private let wordGradientRows: TouchedRows
    /// Whether `wordGradientRows` is the whole story: false once `gradients` has been handed out for writing,
    /// until the gradients are zero again.
    private var wordRowsTracked = true

    /// Hands `body` the gradient slab, and, when only backward has written it since it was last zero, where the
    /// word embedding's gradient is and which of its rows may be non-zero (most are zero: a batch has a few hundred
    /// distinct tokens of a vocabulary of thousands). `body` must leave every gradient zero.
    public func consumeGradients(_ body: (UnsafeMutableBufferPointer<Float>, SparseGradientRows?) throws -> Void) rethrows {
        requireTraining("consumeGradients(_:)")
        let slab = gradientSlab!
        let sparse = wordRowsTracked
            ? SparseGradientRows(start: grads!.embeddings.word - slab.pointer, width: config.hiddenSize,
                                 touched: wordGradientRows)
            : nil
        try body(slab.buffer, sparse)
        wordGradientRows.removeAll()
        wordRowsTracked = true
    }

    /// Floats planned beside the parameters: activations and gradients (attention and BF16 scratch, and the gradients
    /// of training lanes past the first, aside).
    public var plannedFloatCount: Int { acts.slab.count + (gradientSlab?.count ?? 0) }

    /// What `plannedFloatCount` would be for a model of this shape and purpose, without building one.
    public static func plannedFloatCount(config: BertConfig, numLabels: Int, maxTokens: Int,
                                         purpose: ModelPurpose) -> Int {
        ActivationPlan.floatCount(config: config, numLabels: numLabels, maxTokens: maxTokens, purpose: purpose)
            + (purpose == .training ? ParameterLayout(config: config, numLabels: numLabels).totalCount : 0)
    }

    /// Stops the program when a model built for inference is asked to train: it has nowhere to put it.
    private func requireTraining(_ what: @autoclosure () -> String) {
        precondition(purpose == .training, "\(what()): this model was built with purpose .inference, which plans no "
                     + "gradients, backward scratch or dropout; build it with purpose .training to train")
    }

    /// Plans activations once for at most `maxTokens` tokens per batch and sequences up to
    /// `config.maxPositionEmbeddings`, and initialises parameters as HuggingFace does, from `seed`.
    /// `seed` also keys the dropout masks. `precision` is the number format of the encoder layers' matrix
    /// products: BF16 rounds their inputs and accumulates in single precision; parameters, gradients,
    /// LayerNorm, softmax and the loss stay single precision either way. `purpose` `.inference` plans a
    /// forward without dropout only (see the type's documentation).
    public convenience init(config: BertConfig, numLabels: Int, maxTokens: Int, seed: UInt64 = 0,
                            precision: GEMMPrecision = .fp32, purpose: ModelPurpose = .training) {
        self.init(config: config, numLabels: numLabels, maxTokens: maxTokens, seed: seed, precision: precision,
                  purpose: purpose, initializingParameters: true)
    }

    /// The designated initialiser; `initializingParameters` false leaves every parameter 0, for a caller that
    /// writes them all next (a checkpoint's load, which then initialises only what the file lacks; a copy of
    /// another model's parameters), saving the normal draws of every parameter (about a second for 22 M).
    /// `fp32InferenceProducts` says how an inference model in single precision multiplies by its weights.
    public init(config: BertConfig, numLabels: Int, maxTokens: Int, seed: UInt64, precision: GEMMPrecision,
                purpose: ModelPurpose, initializingParameters: Bool,
                fp32InferenceProducts: BLAS.FP32InferenceProducts = BLAS.fp32InferenceProducts) {
        precondition(numLabels > 0, "a token classifier needs at least one label")
        precondition(maxTokens > 0, "maxTokens must be positive")
        precondition(config.hiddenSize % config.numAttentionHeads == 0,
                     "hidden_size \(config.hiddenSize) is not a multiple of num_attention_heads \(config.numAttentionHeads)")
        self.config = config
        self.numLabels = numLabels
        self.maxTokens = maxTokens
        self.purpose = purpose
        layout = ParameterLayout(config: config, numLabels: numLabels)
        parameterSlab = FloatSlab(count: layout.totalCount)
        weights = ParameterViews(base: parameterSlab.pointer, layout: layout, numLayers: config.numHiddenLayers)
        switch purpose {
        case .training:
            let gradientSlab = FloatSlab(count: layout.totalCount)
            self.gradientSlab = gradientSlab
            grads = ParameterViews(base: gradientSlab.pointer, layout: layout, numLayers: config.numHiddenLayers)
        case .inference:
            gradientSlab = nil
            grads = nil
        }
        wordGradientRows = TouchedRows(rows: purpose == .training ? config.vocabSize : 0)
        acts = ActivationPlan(config: config, numLabels: numLabels, maxTokens: maxTokens, purpose: purpose)
        maxSequenceLength = min(config.maxPositionEmbeddings, maxTokens)
        attentionScratch = AttentionScratch(maxSequenceLength: maxSequenceLength,
                                            headSize: config.hiddenSize / config.numAttentionHeads,
                                            workers: max(Parallel.threadCount, ProcessInfo.processInfo.activeProcessorCount))
        // Lanes run their products on their own threads through oneDNN (single-precision products included:
        // OpenBLAS keeps one thread pool for the process), and use the attention scratch's areas, one a lane.
        laneCapacity = BLAS.productsRunOnCallingThread ? attentionScratch.workers : 1
        laneOffsets = .allocate(capacity: laneCapacity * (maxTokens + 1))
        self.precision = precision
        let C = config.hiddenSize, F = config.intermediateSize
        // BF16 scratch: the first area takes each product's first input (activations, output gradients), the
        // second the input of a weight gradient; with the weights converted beforehand, a forward needs no second
        // area. A layer's input, shared by the Q, K and V projections, is converted once into the area that its
        // products leave alone: the first in forward, the second in backward.
        // In inference the second area takes the attention block's output (`bf16InferenceLayerTail`): a row of C
        // values for each token.
        let scratchCapacity = max(maxTokens, C) * max(C, F)
        gemmScratch = precision != .bf16 ? nil
            : GEMMScratch(capacity: scratchCapacity, secondCapacity: purpose == .training ? scratchCapacity : max(maxTokens, 1) * C)
        // Training lanes each keep their own (an inference lane takes its rows' stretch of the first area). Slabs
        // are mapped, so a lane's scratch and gradients take memory only once a batch runs in lanes.
        laneGEMMScratch = precision != .bf16 || purpose == .inference ? []
            : (1 ..< laneCapacity).map { _ in GEMMScratch(capacity: scratchCapacity, secondCapacity: scratchCapacity) }
        let parameterLayout = layout, layers = config.numHiddenLayers
        laneGradients = purpose == .inference ? [] : (1 ..< laneCapacity).map { _ in
            let slab = FloatSlab(count: parameterLayout.totalCount)
            return (slab, ParameterViews(base: slab.pointer, layout: parameterLayout, numLayers: layers))
        }
        if precision == .bf16 {
            let perLayer = LayerBF16Weights.count(C: C, F: F)
            let buffer = BF16Buffer(capacity: config.numHiddenLayers * perLayer)
            // Inference packs the forward's weights once for oneDNN's blocks of rows; training changes them every step.
            bf16Weights = (0 ..< config.numHiddenLayers).map {
                LayerBF16Weights(buffer, offset: $0 * perLayer, C: C, F: F, packed: purpose == .inference)
            }
        } else {
            bf16Weights = []
        }
        packedFP32Weights = precision == .fp32 && purpose == .inference
            ? (0 ..< config.numHiddenLayers).compactMap { _ in
                LayerPackedWeights(C: C, F: F) { PackedFP32Weights(n: $0, k: $1, products: fp32InferenceProducts) }
            } : []
        packedClassifier = purpose == .inference
            ? PackedFP32Weights(n: numLabels, k: C, products: fp32InferenceProducts) : nil
        if precision == .int8 {
            precondition(purpose == .inference, "INT8 products are for inference; train in fp32 or bf16")
            int8Weights = (0 ..< config.numHiddenLayers).compactMap { _ in LayerInt8Weights(C: C, F: F) }
            precondition(int8Weights.count == config.numHiddenLayers, "INT8 products need oneDNN (BLAS.int8Runs)")
            quantizedRows = (0 ..< laneCapacity).map { _ in
                (QuantizedRows(rows: maxTokens, k: max(C, F)), QuantizedRows(rows: maxTokens, k: max(C, F)))
            }
        } else {
            int8Weights = []
            quantizedRows = []
        }
        switch config.hiddenAct {
        case .gelu: activation = .erf
        case .geluNew, .geluPyTorchTanh: activation = .tanh
        case .relu: activation = .relu
        }
        inputIDs = .allocate(capacity: maxTokens)
        positionIDs = .allocate(capacity: maxTokens)
        labels = .allocate(capacity: maxTokens)
        sequenceOffsets = .allocate(capacity: maxTokens + 1)
        seedRandom = CounterRandom(key: seed)
        dropoutRandom = seedRandom
        hiddenDropout = Float(config.hiddenDropoutProb)
        attentionDropout = Float(config.attentionProbsDropoutProb)
        classifierDropout = Float(config.classifierDropout ?? config.hiddenDropoutProb)
        if initializingParameters { initializeParameters(seed: seed) }
    }

    deinit {
        inputIDs.deallocate()
        positionIDs.deallocate()
        labels.deallocate()
        sequenceOffsets.deallocate()
        laneOffsets.deallocate()
    }

    /// Sets parameters as HuggingFace's `BertPreTrainedModel._init_weights` does: weights and embeddings
    /// normal(0, initializer_range), the padding token's embedding row 0, biases 0, LayerNorm weights 1.
    /// Each tensor draws from its own stream keyed by (seed, name), so re-initialising one tensor (say,
    /// the classifier of a loaded encoder) gives the same values as a full initialisation would.
    public func initializeParameters(seed: UInt64, only names: Set<String>? = nil) {
        productWeightsStale = true
        let std = Float(config.initializerRange)
        for entry in layout.entries where names?.contains(entry.name) ?? true {
            let p = parameterSlab.pointer + entry.offset
            if entry.name.contains("LayerNorm.") {
                p.update(repeating: entry.name.hasSuffix(".weight") ? 1 : 0, count: entry.count)
            } else if entry.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: entry.count)
            } else {
                var rng = SplitMix64(seed: seed ^ fnv1a(entry.name))
                for i in 0 ..< entry.count { p[i] = std * rng.nextNormal() }
                if entry.name == "bert.embeddings.word_embeddings.weight",
                   (0 ..< config.vocabSize).contains(config.padTokenId) {
                    (p + config.padTokenId * config.hiddenSize).update(repeating: 0, count: config.hiddenSize)
                }
            }
        }
    }

    /// Logits of the last forward: [T, NL].
    public var logits: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: acts.logits, count: tokens * numLabels)
    }

    /// The encoder's output for the last forward, before classifier dropout: [T, C].
    public var lastHiddenState: UnsafeBufferPointer<Float> {
        let last = config.numHiddenLayers > 0 ? acts.layers[config.numHiddenLayers - 1].y2 : acts.hidden0
        return UnsafeBufferPointer(start: last, count: tokens * config.hiddenSize)
    }

    public func zeroGradients() {
        requireTraining("zeroGradients()")
        gradientSlab!.zero()
        wordGradientRows.removeAll()
        wordRowsTracked = true
    }

    /// Training forwards run so far; the next one draws its dropout masks from stream count + 1. A resumed
    /// run sets it back to where the saved run stood, so its masks continue the same sequence.
    public var trainingForwardCount: UInt64 {
        get { trainingForwards }
        set { trainingForwards = newValue }
    }

    // MARK: - Forward

    /// Runs the model on a packed batch: sequence b is tokens sequenceOffsets[b] ..< sequenceOffsets[b+1];
    /// token type ids are all 0. Returns the mean cross-entropy over tokens whose label is not -100 when
    /// labels are given (0 when none is labelled), nil otherwise. `training` turns dropout on; a model built
    /// for inference stops the program when asked to.
    @discardableResult
    public func forward(inputIDs ids: [Int32], positionIDs positions: [Int32], sequenceOffsets offsets: [Int32],
                        labels batchLabels: [Int32]?, training: Bool) throws -> Float? {
        if training { requireTraining("forward(training: true)") }
        try validate(ids: ids, positions: positions, offsets: offsets, labels: batchLabels)
        let T = ids.count, B = offsets.count - 1
        ids.withUnsafeBufferPointer { inputIDs.update(from: $0.baseAddress!, count: T) }
        positions.withUnsafeBufferPointer { positionIDs.update(from: $0.baseAddress!, count: T) }
        offsets.withUnsafeBufferPointer { sequenceOffsets.update(from: $0.baseAddress!, count: B + 1) }
        if let batchLabels {
            batchLabels.withUnsafeBufferPointer { labels.update(from: $0.baseAddress!, count: T) }
        }
        tokens = T
        sequences = B
        lastHadLabels = batchLabels != nil
        lastTraining = training
        if training {
            trainingForwards &+= 1
            dropoutRandom = seedRandom.derived(trainingForwards)
            maskFirstToken = dropoutFirstToken
        }
        return runForward()
    }

    private func validate(ids: [Int32], positions: [Int32], offsets: [Int32], labels: [Int32]?) throws {
        let T = ids.count
        if T > maxTokens { throw BertModelError.batchTooLarge(tokens: T, planned: maxTokens) }
        if positions.count != T {
            throw BertModelError.lengthMismatch(what: "positionIDs", expected: T, found: positions.count)
        }
        if let labels, labels.count != T {
            throw BertModelError.lengthMismatch(what: "labels", expected: T, found: labels.count)
        }
        guard offsets.count >= 1, offsets[0] == 0 else {
            throw BertModelError.invalidSequenceOffsets(reason: "the first offset is \(offsets.first.map(String.init) ?? "missing"), not 0")
        }
        guard Int(offsets[offsets.count - 1]) == T else {
            throw BertModelError.invalidSequenceOffsets(reason: "the last offset is \(offsets[offsets.count - 1]) but there are \(T) tokens")
        }
        for b in 0 ..< offsets.count - 1 {
            let length = Int(offsets[b + 1]) - Int(offsets[b])
            if length < 0 {
                throw BertModelError.invalidSequenceOffsets(reason: "offset \(b + 1) (\(offsets[b + 1])) is below offset \(b) (\(offsets[b]))")
            }
            if length > maxSequenceLength {
                throw BertModelError.sequenceTooLong(sequence: b, length: length, limit: maxSequenceLength)
            }
        }
        for t in 0 ..< T {
            if ids[t] < 0 || Int(ids[t]) >= config.vocabSize {
                throw BertModelError.idOutOfRange(what: "input id", token: t, value: ids[t], limit: config.vocabSize)
            }
            if positions[t] < 0 || Int(positions[t]) >= config.maxPositionEmbeddings {
                throw BertModelError.idOutOfRange(what: "position id", token: t, value: positions[t],
                                                  limit: config.maxPositionEmbeddings)
            }
            if let labels, labels[t] != ignoredLabel, labels[t] < 0 || Int(labels[t]) >= numLabels {
                throw BertModelError.labelOutOfRange(token: t, value: labels[t], numLabels: numLabels)
            }
        }
    }

    /// Dropout sites: each gets its own mask stream under the step's key.
    private enum Site {
        static let embeddings: UInt64 = 0
        static func attentionProbs(_ layer: Int) -> UInt64 { UInt64(1 + 3 * layer) }
        static func attentionOutput(_ layer: Int) -> UInt64 { UInt64(2 + 3 * layer) }
        static func feedForwardOutput(_ layer: Int) -> UInt64 { UInt64(3 + 3 * layer) }
        static let classifier: UInt64 = 1 << 32
    }

    private func dropoutActive(_ p: Float) -> Bool { lastTraining && p > 0 }

    private func runForward() -> Float? {
        let T = tokens, B = sequences, C = config.hiddenSize, NL = numLabels, eps = Float(config.layerNormEps)
        let e = weights.embeddings

        embeddingForward(acts.embeddings, inputIDs, positionIDs, nil, e.word, e.position, e.tokenType, T: T, C: C)
        layerNormForward(acts.hidden0, acts.mean0, acts.rstd0, acts.embeddings, e.lnWeight, e.lnBias, T: T, C: C, eps: eps)
        if dropoutActive(hiddenDropout) {
            dropoutForward(acts.hidden0, acts.hidden0, count: T * C, probability: hiddenDropout,
                           random: dropoutRandom.derived(Site.embeddings), counterBase: dropoutCounterBase(C))
        }
        // Training forwards in BF16 convert the weights every time (once per optimizer step, or per micro-batch): a
        // trainer's update never goes unseen. Other forwards convert or pack only after the parameters may have
        // changed.
        if productWeightsStale || (precision == .bf16 && lastTraining) { prepareProductWeights() }
        let parts = lanes(T: T, B: B)
        lastParts = parts
        if purpose == .inference && parts.count > 1 {
            // No backward follows: the lanes take parts in turn instead of a fixed share each.
            let shares = inferenceParts(T: T, B: B, lanes: parts.count), queue = PartQueue(count: shares.count)
            lastInferenceParts = shares
            Parallel.forEachLane(parts.count) { lane in
                while let i = queue.take() { encoder(shares[i], lane: lane) }
            }
        } else {
            lastInferenceParts = []
            Parallel.forEachLane(parts.count) { encoder(parts[$0], lane: $0) }
        }
        let x = UnsafePointer(config.numHiddenLayers > 0 ? acts.layers[config.numHiddenLayers - 1].y2 : acts.hidden0)
        let classifierInput = self.classifierInput(lastHidden: x)
        if dropoutActive(classifierDropout) {
            dropoutForward(acts.training!.classifierInput, x, count: T * C, probability: classifierDropout,
                           random: dropoutRandom.derived(Site.classifier), counterBase: dropoutCounterBase(C))
        }
        matmulForward(acts.logits, classifierInput, weights.classifierWeight, weights.classifierBias,
                      T: T, IC: C, OC: NL, converted: ConvertedInputs(packedFP32Weight: packedClassifier))
        guard lastHadLabels else { return nil }
        let (sum, count) = crossEntropyForward(acts.losses, acts.probs, acts.logits, labels, T: T, NL: NL)
        labelledTokens = count
        return count == 0 ? 0 : Float(sum / Double(count))
    }

    /// Rows of a packed batch that hold whole sequences: the whole batch, or a lane's share of it.
    struct BatchPart: Equatable {
        let rows: Range<Int>
        let sequences: Range<Int>
    }

    /// Tokens a lane takes at least: below that, one forward on every thread (a sentence alone keeps both cores
    /// busy in each product).
    static let minimumLaneTokens = 64

    /// How a training forward (and the backward after it) splits the batch between lanes (`Parallel.forEachLane`),
    /// each running the whole encoder on its own sequences on a thread of its own: whole sequences, about the same
    /// tokens each, at least `minimumLaneTokens`. One part (no lanes) for a single sequence, a small batch, one
    /// thread. An inference forward runs as many lanes, which take `inferenceParts` in turn.
    /// Threads meet once a forward instead of at every product and kernel of every layer, and each core keeps its
    /// rows' activations in its own cache. In the forward every row gets the same operations whatever its lane
    /// (the products' rows are independent, as a sentence alone against in a batch shows: `InferencePlanTests`);
    /// backward sums each lane's share of a weight's gradient apart, then adds them.
    func lanes(T: Int, B: Int) -> [BatchPart] {
        let whole = [BatchPart(rows: 0 ..< T, sequences: 0 ..< B)]
        let lanes = min(laneLimit ?? Parallel.threadCount, laneCapacity, B, T / Self.minimumLaneTokens)
        guard lanes > 1, !Parallel.inLane else { return whole }
        var parts: [BatchPart] = []
        var first = 0
        for lane in 0 ..< lanes where first < B {
            // The sequence boundary nearest this lane's share of the tokens, after at least one sequence.
            let end = lane + 1 < lanes ? boundary(after: first, nearest: T * (lane + 1) / lanes, B: B) : B
            parts.append(BatchPart(rows: Int(sequenceOffsets[first]) ..< Int(sequenceOffsets[end]), sequences: first ..< end))
            first = end
        }
        return parts.count > 1 && parts.allSatisfy({ $0.rows.count >= Self.minimumLaneTokens }) ? parts : whole
    }

    /// The parts an inference forward in `lanes` lanes hands out, one at a time, to whichever lane is free: whole
    /// consecutive sequences, each about a (2 · lanes)th of the tokens left before it and at least
    /// `minimumPartTokens`, so parts shrink towards the end (guided self-scheduling). Fixed halves wait for the
    /// slower core, and the cores of a shared machine often differ: another process on one, a virtual machine's
    /// neighbours on the matrix units. Large first parts keep the reloads of the weights (each part reads every
    /// weight of the encoder again) few; small last parts leave the lanes finishing nearly together. Every row
    /// gets the same operations whatever its part (`lanes`).
    func inferenceParts(T: Int, B: Int, lanes: Int) -> [BatchPart] {
        let minimum = max(1, minimumPartTokens)
        var parts: [BatchPart] = []
        var first = 0
        while first < B {
            let start = Int(sequenceOffsets[first]), left = T - start
            let size = max(minimum, left / (2 * max(1, lanes)))
            // What would be left after this part is taken too, when under half a part.
            let end = left - size >= (minimum + 1) / 2 ? boundary(after: first, nearest: start + size, B: B) : B
            parts.append(BatchPart(rows: start ..< Int(sequenceOffsets[end]), sequences: first ..< end))
            first = end
        }
        return parts
    }

    /// Tokens a part of `inferenceParts` takes at least by default: against fixed halves, BF16 tagging of
    /// CoNLL-2003 test ran 1.11-1.20 times as fast with parts of at least 128, 256 or 512 tokens, and 1.02-1.08 times
    /// as fast as with four equal parts a lane (README, Performance).
    static let defaultMinimumPartTokens = 256

    /// The end of a part starting at sequence `first`: the sequence boundary nearest row `target`, after at least
    /// one sequence.
    private func boundary(after first: Int, nearest target: Int, B: Int) -> Int {
        var end = first + 1
        while end < B && abs(Int(sequenceOffsets[end + 1]) - target) <= abs(Int(sequenceOffsets[end]) - target) {
            end += 1
        }
        return end
    }

    /// The part's sequence offsets counted from its first row: the batch's own from row 0, else lane `lane`'s copy.
    private func offsets(_ part: BatchPart, lane: Int) -> UnsafePointer<Int32> {
        let t0 = part.rows.lowerBound
        if t0 == 0 { return UnsafePointer(sequenceOffsets) }
        let rebased = laneOffsets + lane * (maxTokens + 1)
        for b in 0 ... part.sequences.count { rebased[b] = sequenceOffsets[part.sequences.lowerBound + b] - Int32(t0) }
        return UnsafePointer(rebased)
    }

    /// Lane `lane`'s BF16 scratch and where its inputs start in the first area: in inference the rows' own stretch
    /// of the model's (as wide as the widest input), in training a scratch of the lane's own.
    private func laneScratch(_ part: BatchPart, lane: Int) -> (scratch: GEMMScratch?, start: Int) {
        switch (purpose, lane) {
        case (.inference, _): return (gemmScratch, part.rows.lowerBound * max(config.hiddenSize, config.intermediateSize))
        case (.training, 0): return (gemmScratch, 0)
        case (.training, _): return (laneGEMMScratch.isEmpty ? nil : laneGEMMScratch[lane - 1], 0)
        }
    }

    /// The encoder's layers on `part` of the batch: all of it, or a lane's share, reading and writing only its rows
    /// (`ActivationPlan.inferenceLayer(rows:)`, `trainingLayer(_:fromRow:)`) and lane `lane`'s scratch, with the
    /// dropout masks the whole batch's rows draw.
    private func encoder(_ part: BatchPart, lane: Int) {
        let C = config.hiddenSize, F = config.intermediateSize, NH = config.numAttentionHeads
        let eps = Float(config.layerNormEps)
        let t0 = part.rows.lowerBound, T = part.rows.count, B = part.sequences.count
        let offsets = self.offsets(part, lane: lane)
        let (gemmScratch, bf16Start) = laneScratch(part, lane: lane)
        func bf16Input(_ count: Int) -> BF16Matrix? { gemmScratch?.a.matrix(offset: bf16Start, count: count) }
        var x = UnsafePointer(acts.hidden0 + t0 * C)                             // [T, C] layer input
        // In BF16 the layer input as the products take it (Q, K, V convert nothing of their own): the embeddings'
        // converted here, every later one written by the LayerNorm before it.
        var x16 = bf16Input(T * C)
        x16?.convert(from: x)
        for l in 0 ..< config.numHiddenLayers {
            let w = weights.layers[l], w16 = bf16Weights.isEmpty ? nil : bf16Weights[l]
            let a = purpose == .training ? acts.trainingLayer(l, fromRow: t0) : acts.inferenceLayer(rows: part.rows)
            let p32 = packedFP32Weights.isEmpty ? nil : packedFP32Weights[l]
            if !quantizedRows.isEmpty {
                x = int8EncoderLayer(l, x, a, T: T, B: B, offsets: offsets, quantized: quantizedRows[lane])
                continue
            }
            matmulForward(a.q, x, w.queryWeight, w.queryBias, T: T, IC: C, OC: C,
                          precision: precision, scratch: gemmScratch,
                          converted: ConvertedInputs(input: x16, weight: w16?.query, packedWeight: w16?.packed?.query,
                                                     weightPanels: w16?.panels?.forward.query, packedFP32Weight: p32?.query))
            matmulForward(a.k, x, w.keyWeight, w.keyBias, T: T, IC: C, OC: C,
                          precision: precision, scratch: gemmScratch,
                          converted: ConvertedInputs(input: x16, weight: w16?.key, packedWeight: w16?.packed?.key,
                                                     weightPanels: w16?.panels?.forward.key, packedFP32Weight: p32?.key))
            matmulForward(a.v, x, w.valueWeight, w.valueBias, T: T, IC: C, OC: C,
                          precision: precision, scratch: gemmScratch,
                          converted: ConvertedInputs(input: x16, weight: w16?.value, packedWeight: w16?.packed?.value,
                                                     weightPanels: w16?.panels?.forward.value, packedFP32Weight: p32?.value))
            // In BF16 attention also writes the output projection's input (Q, K and V have read x16 by now).
            let context16 = bf16Input(T * C)
            attentionForward(a.context, a.q, a.k, a.v, offsets, B: B, NH: NH, C: C,
                             dropout: attentionDropoutKey(l, fromRow: t0), scratch: attentionScratch, converted: context16)
            if purpose == .inference, let gemmScratch, let packed = w16?.packed, let context16 {
                x16 = bf16InferenceLayerTail(l, x: x, a, T: T, t0: t0, context16: context16, packed: packed,
                                             scratch: gemmScratch, bf16Start: bf16Start)
                x = UnsafePointer(a.y2)
                continue
            }
            matmulForward(a.residual1, a.context, w.outputWeight, w.outputBias, T: T, IC: C, OC: C,
                          precision: precision, scratch: gemmScratch,
                          converted: ConvertedInputs(input: context16, weight: w16?.output, packedWeight: w16?.packed?.output,
                                                     weightPanels: w16?.panels?.forward.output, packedFP32Weight: p32?.output))
            let y1_16 = bf16Input(T * C)
            residualLayerNormForward(a.y1, a.mean1, a.rstd1, a.residual1, a.residual1, x, w.ln1Weight, w.ln1Bias,
                                     T: T, C: C, eps: eps, dropout: hiddenDropoutMask(Site.attentionOutput(l), fromRow: t0),
                                     converted: y1_16)
            matmulForward(a.ff1, a.y1, w.intermediateWeight, nil, T: T, IC: C, OC: F,
                          precision: precision, scratch: gemmScratch,
                          converted: ConvertedInputs(input: y1_16, weight: w16?.intermediate, packedWeight: w16?.packed?.intermediate,
                                                     weightPanels: w16?.panels?.forward.intermediate, packedFP32Weight: p32?.intermediate))
            // In BF16 the activation's pass also writes the output projection's input; a forward that keeps no
            // activations writes nothing else.
            var act16: BF16Matrix?
            if let gemmScratch {
                let converted = gemmScratch.a.matrix(offset: bf16Start, count: T * F)
                biasGELUForward(converted, purpose == .inference ? nil : a.act, a.ff1, w.intermediateBias,
                                T: T, N: F, form: activation)
                act16 = converted
            } else {
                biasGELUForward(a.act, a.ff1, w.intermediateBias, T: T, N: F, form: activation)
            }
            matmulForward(a.residual2, a.act, w.ffOutputWeight, w.ffOutputBias, T: T, IC: F, OC: C,
                          precision: precision, scratch: gemmScratch,
                          converted: ConvertedInputs(input: act16, weight: w16?.ffOutput, packedWeight: w16?.packed?.ffOutput,
                                                     weightPanels: w16?.panels?.forward.ffOutput, packedFP32Weight: p32?.ffOutput))
            // The next layer's input in BF16; the last layer's feeds the classifier, which multiplies in single precision.
            x16 = l + 1 < config.numHiddenLayers ? bf16Input(T * C) : nil
            residualLayerNormForward(a.y2, a.mean2, a.rstd2, a.residual2, a.residual2, a.y1, w.ln2Weight, w.ln2Bias,
                                     T: T, C: C, eps: eps, dropout: hiddenDropoutMask(Site.feedForwardOutput(l), fromRow: t0),
                                     converted: x16)
            x = UnsafePointer(a.y2)
        }
    }

    /// The rest of an encoder layer in BF16 inference once attention has written its output (`context16`, in the
    /// lane's stretch of the first BF16 area): each product on packed weights is followed, block by block of its rows
    /// while they are in cache, by what reads them (the residual LayerNorm, the activation), which writes the next
    /// product's input (`BLAS.gemmBF16(m:a:packed:bias:c:reusingOutput:epilogue:)`). Every row gets the operations
    /// of the unfused path in the same order. The attention block's output goes to the second area (the first is
    /// still being read), the activation to the first, and the layer's output there too, over the activation's
    /// rows already multiplied (a row of C values never reaches the F-wide rows not yet read). Returns the layer's
    /// output in BF16 for the next layer, nil after the last.
    private func bf16InferenceLayerTail(_ l: Int, x: UnsafePointer<Float>, _ a: LayerActivations, T: Int, t0: Int,
                                        context16: BF16Matrix, packed: LayerBF16Weights.Packed, scratch: GEMMScratch,
                                        bf16Start: Int) -> BF16Matrix? {
        let C = config.hiddenSize, F = config.intermediateSize, eps = Float(config.layerNormEps)
        let w = weights.layers[l]
        let y1_16 = scratch.b.matrix(offset: t0 * C, count: T * C)
        BLAS.gemmBF16(m: T, a: context16, packed: packed.output, bias: w.outputBias, c: a.residual1) { rows, out in
            let t = rows.lowerBound
            residualLayerNormForward(a.y1 + t * C, a.mean1 + t, a.rstd1 + t, out, out, x + t * C, w.ln1Weight, w.ln1Bias,
                                     T: rows.count, C: C, eps: eps, dropout: nil,
                                     converted: y1_16.slice(from: t * C, count: rows.count * C))
        }
        // The intermediate projection's outputs are read only by the activation: each block takes the first rows'
        // place, which stays in cache.
        let act16 = scratch.a.matrix(offset: bf16Start, count: T * F)
        BLAS.gemmBF16(m: T, a: y1_16, packed: packed.intermediate, bias: nil, c: a.ff1, reusingOutput: true) { rows, out in
            biasGELUForward(act16.slice(from: rows.lowerBound * F, count: rows.count * F), nil, out, w.intermediateBias,
                            T: rows.count, N: F, form: activation)
        }
        let next16 = l + 1 < config.numHiddenLayers ? scratch.a.matrix(offset: bf16Start, count: T * C) : nil
        BLAS.gemmBF16(m: T, a: act16, packed: packed.ffOutput, bias: w.ffOutputBias, c: a.residual2) { rows, out in
            let t = rows.lowerBound
            residualLayerNormForward(a.y2 + t * C, a.mean2 + t, a.rstd2 + t, out, out, a.y1 + t * C, w.ln2Weight,
                                     w.ln2Bias, T: rows.count, C: C, eps: eps, dropout: nil,
                                     converted: next16?.slice(from: t * C, count: rows.count * C))
        }
        return next16
    }

    /// One encoder layer in INT8 (inference): each projection's int32 sums are scaled back, block by block of rows
    /// while they are in cache, together with what follows them on the same rows (the residual LayerNorm, the
    /// activation) and the quantization of the next product's input. Query, key and value are one product, whose
    /// rows hold a token's q, k and v side by side in the wide buffer (where the plan puts q, k and v); each
    /// sequence's attention, and the quantization of its output, follows the block that completes its rows, while
    /// they are in cache (`BLAS.gemmInt8(m:a:packed:sequenceOffsets:rowsDone:)`). Every element gets the
    /// operations of the unfused path in the same order (`matmulForward`'s INT8 case, then the kernels; the erf
    /// form's activation is `geluPiecesForward`, 8-bit rounding being next), so the bits are the same.
    /// `quantized.0` holds x quantized on entry and the output quantized on return (unless this is the last layer,
    /// whose output the classifier reads in single precision); returns the output [T, C].
    private func int8EncoderLayer(_ l: Int, _ x: UnsafePointer<Float>, _ a: LayerActivations, T: Int, B: Int,
                                  offsets: UnsafePointer<Int32>,
                                  quantized: (QuantizedRows, QuantizedRows)) -> UnsafePointer<Float> {
        let C = config.hiddenSize, F = config.intermediateSize, NH = config.numAttentionHeads
        let eps = Float(config.layerNormEps)
        let w = weights.layers[l], w8 = int8Weights[l]
        let (first, second) = quantized
        if l == 0 { first.quantize(x, rows: T, k: C) }
        let qkv = a.q                                                            // [T, 3C]
        second.shape(rows: T, k: C)
        let sequenceOffsets = UnsafeBufferPointer(start: offsets, count: B + 1)
        // No more workers than attention has scratch areas for (the thread count may have been raised since).
        BLAS.gemmInt8(m: T, a: first, packed: w8.queryKeyValue, sequenceOffsets: sequenceOffsets,
                      workerLimit: attentionScratch.workers) { rows, sums, worker in
            w8.queryKeyValue.dequantize(qkv + rows.lowerBound * 3 * C, sums: sums, rows: rows, of: first,
                                        bias: w8.queryKeyValueBias)
            let done = BLAS.sequences(ending: rows, offsets: sequenceOffsets)
            if done.isEmpty { return }
            attentionForward(a.context, queryKeyValue: qkv, offsets, sequences: done, NH: NH, C: C,
                             scratch: attentionScratch, worker: worker)
            let tokens = Int(offsets[done.lowerBound]) ..< Int(offsets[done.upperBound])
            second.quantizeRows(tokens, from: a.context + tokens.lowerBound * C)
        }
        first.shape(rows: T, k: C)
        BLAS.gemmInt8(m: T, a: second, packed: w8.output) { rows, sums in
            let t = rows.lowerBound
            w8.output.residualLayerNormRows(rows, sums: sums, of: second, bias: w.outputBias, skip: x + t * C,
                                            weight: w.ln1Weight, lnBias: w.ln1Bias, eps: eps, out: a.y1 + t * C,
                                            mean: a.mean1 + t, rstd: a.rstd1 + t, quantizing: first)
        }
        second.shape(rows: T, k: F)
        BLAS.gemmInt8(m: T, a: first, packed: w8.intermediate) { rows, sums in
            w8.intermediate.geluRows(rows, sums: sums, of: first, bias: w.intermediateBias, form: activation, into: second)
        }
        let last = l + 1 == config.numHiddenLayers
        if !last { first.shape(rows: T, k: C) }
        BLAS.gemmInt8(m: T, a: second, packed: w8.ffOutput) { rows, sums in
            let t = rows.lowerBound
            w8.ffOutput.residualLayerNormRows(rows, sums: sums, of: second, bias: w.ffOutputBias, skip: a.y1 + t * C,
                                              weight: w.ln2Weight, lnBias: w.ln2Bias, eps: eps, out: a.y2 + t * C,
                                              mean: a.mean2 + t, rstd: a.rstd2 + t, quantizing: last ? nil : first)
        }
        return UnsafePointer(a.y2)
    }

    /// Brings the weights as the products take them up to the parameters: converted for BF16, laid out for the
    /// packed single-precision kernel.
    private func prepareProductWeights() {
        if precision == .bf16 { convertBF16Weights() }
        for (w, packed) in zip(weights.layers, packedFP32Weights) { packed.pack(w) }
        for (w, packed) in zip(weights.layers, int8Weights) { packed.pack(w) }
        packedClassifier?.pack(weights.classifierWeight)
        productWeightsStale = false
    }

    /// Converts every encoder layer's projection weights for BF16 products.
    private func convertBF16Weights() {
        for (w, w16) in zip(weights.layers, bf16Weights) {
            w16.query.convert(from: w.queryWeight)
            w16.key.convert(from: w.keyWeight)
            w16.value.convert(from: w.valueWeight)
            w16.output.convert(from: w.outputWeight)
            w16.intermediate.convert(from: w.intermediateWeight)
            w16.ffOutput.convert(from: w.ffOutputWeight)
            w16.pack()
        }
    }

    /// The hidden dropout's mask at `site` for this forward, nil when dropout is off.
    private func hiddenDropoutMask(_ site: UInt64, fromRow t: Int = 0) -> DropoutMask? {
        dropoutActive(hiddenDropout)
            ? DropoutMask(probability: hiddenDropout, random: dropoutRandom.derived(site), firstRow: maskFirstToken + t)
            : nil
    }

    /// The dropout counter of a [T, width] buffer's first element.
    private func dropoutCounterBase(_ width: Int) -> UInt32 { UInt32(truncatingIfNeeded: maskFirstToken * width) }

    private func attentionDropoutKey(_ layer: Int, fromRow t: Int = 0) -> AttentionDropout? {
        dropoutActive(attentionDropout)
            ? AttentionDropout(probability: attentionDropout, random: dropoutRandom.derived(Site.attentionProbs(layer)),
                               firstToken: maskFirstToken + t)
            : nil
    }

    private func classifierInput(lastHidden: UnsafePointer<Float>) -> UnsafePointer<Float> {
        dropoutActive(classifierDropout) ? UnsafePointer(acts.training!.classifierInput) : lastHidden
    }

    // MARK: - Backward

    /// Accumulates d(mean loss)/d(parameters) into `gradients` for the last forward, which must have had labels.
    /// Runs the forward's steps in reverse, each kernel the mirror of its forward. A model built for inference
    /// stops the program here.
    public func backward() {
        requireTraining("backward()")
        precondition(lastHadLabels, "backward() needs a forward with labels first")
        let grads = self.grads!, d = acts.training!
        let T = tokens, C = config.hiddenSize, NL = numLabels
        let layerCount = config.numHiddenLayers
        let lastHidden = UnsafePointer(layerCount > 0 ? acts.layers[layerCount - 1].y2 : acts.hidden0)
        let dropsClassifier = dropoutActive(classifierDropout), dropsHidden = dropoutActive(hiddenDropout)

        let normalizer = gradientNormalizer ?? labelledTokens
        crossEntropyBackward(d.dLogits, acts.probs, labels,
                             scale: normalizer == 0 ? 0 : 1 / Float(normalizer), T: T, NL: NL)
        matmulBackward(dropsClassifier ? d.dDropped : d.dHidden, grads.classifierWeight, grads.classifierBias,
                       d.dLogits, classifierInput(lastHidden: lastHidden), weights.classifierWeight,
                       T: T, IC: C, OC: NL)
        if dropsClassifier {
            dropoutBackward(d.dHidden, d.dDropped, count: T * C, probability: classifierDropout,
                            random: dropoutRandom.derived(Site.classifier), counterBase: dropoutCounterBase(C))
        }
        // Each part's range runs from its first gradient view to the next part's.
        let slab = gradientSlab!.pointer, classifierStart = grads.classifierWeight - slab
        gradientsFinal?(classifierStart ..< layout.totalCount)
        let parts = lastParts
        Parallel.forEachLane(parts.count) { encoderBackward(parts[$0], lane: $0) }
        if parts.count > 1 {
            // Lanes past the first summed their share of the layers' gradients apart: add them, and clear theirs.
            let layers = layerCount > 0 ? grads.layers[0].queryWeight - slab ..< classifierStart : 0 ..< 0
            for (laneSlab, _) in laneGradients.prefix(parts.count - 1) {
                addAndClear(slab + layers.lowerBound, laneSlab.pointer + layers.lowerBound, count: layers.count)
            }
            if !layers.isEmpty { gradientsFinal?(layers) }
        }
        if dropsHidden {
            dropoutBackward(d.dHidden, d.dHidden, count: T * C, probability: hiddenDropout,
                            random: dropoutRandom.derived(Site.embeddings), counterBase: dropoutCounterBase(C))
        }
        let e = weights.embeddings, ge = grads.embeddings
        layerNormBackward(d.dY1, ge.lnWeight, ge.lnBias, d.dHidden, acts.embeddings, e.lnWeight,
                          acts.mean0, acts.rstd0, T: T, C: C)
        embeddingBackward(ge.word, ge.position, ge.tokenType, d.dY1, inputIDs, positionIDs, nil, T: T, C: C)
        for t in 0 ..< T { wordGradientRows.insert(Int(inputIDs[t])) }
        gradientsFinal?(0 ..< (layerCount > 0 ? grads.layers[0].queryWeight - slab : classifierStart))
    }

    /// Backward through the encoder's layers for `part` of the batch, as the forward ran it: all of it, or a lane's
    /// share, whose layers' gradients go to the model's slab (the first lane) or the lane's own (`laneGradients`).
    /// On entry the training scratch's dHidden holds d loss / d (the last layer's output) for the part's rows; on
    /// return, d loss / d (the first layer's input).
    private func encoderBackward(_ part: BatchPart, lane: Int) {
        let C = config.hiddenSize, F = config.intermediateSize, NH = config.numAttentionHeads
        let layerCount = config.numHiddenLayers
        let t0 = part.rows.lowerBound, T = part.rows.count, B = part.sequences.count
        let grads = lane == 0 ? self.grads! : laneGradients[lane - 1].views, d = acts.trainingScratch(fromRow: t0)
        let slab = gradientSlab!.pointer, classifierStart = self.grads!.classifierWeight - slab
        let offsets = self.offsets(part, lane: lane)
        let gemmScratch = laneScratch(part, lane: lane).scratch
        let dropsHidden = dropoutActive(hiddenDropout)
        // d.dHidden holds d loss / d (layer l's output) on entry to each iteration.
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
            let w = weights.layers[l], g = grads.layers[l], a = acts.trainingLayer(l, fromRow: t0)
            let w16 = bf16Weights.isEmpty ? nil : bf16Weights[l]
            let x = UnsafePointer(l == 0 ? acts.hidden0 + t0 * C : acts.trainingLayer(l - 1, fromRow: t0).y2)

            // residual2 = y1 + dropout(act · W2ᵀ + b2): the residual path starts dY1.
            residualLayerNormBackward(d.dY1, d.dDropped, g.ln2Weight, g.ln2Bias, d.dHidden, a.residual2, w.ln2Weight,
                                      a.mean2, a.rstd2, T: T, C: C,
                                      dropout: hiddenDropoutMask(Site.feedForwardOutput(l), fromRow: t0))
            var dProjection = UnsafePointer(dropsHidden ? d.dDropped : d.dY1)
            matmulBackward(d.dFF, g.ffOutputWeight, g.ffOutputBias, dProjection, a.act, w.ffOutputWeight,
                           T: T, IC: F, OC: C, precision: precision, scratch: gemmScratch,
                           converted: ConvertedInputs(weight: w16?.ffOutput, weightPanels: w16?.panels?.inputGradient.ffOutput))
            // In BF16 the activation's backward also writes the intermediate projection's dout as its products
            // take it.
            let dFF16 = gemmScratch?.a.matrix(count: T * F)
            geluBiasBackward(d.dFF, g.intermediateBias, d.dFF, a.ff1, T: T, N: F, form: activation, converted: dFF16)
            matmulBackward(d.dY1, g.intermediateWeight, nil, d.dFF, a.y1,
                           w.intermediateWeight, T: T, IC: C, OC: F, accumulateInput: true, precision: precision,
                           scratch: gemmScratch,
                           converted: ConvertedInputs(weight: w16?.intermediate, outputGradient: dFF16,
                                                      weightPanels: w16?.panels?.inputGradient.intermediate))

            // residual1 = x + dropout(context · Woᵀ + bo): the residual path starts dHidden (now d x).
            residualLayerNormBackward(d.dHidden, d.dDropped, g.ln1Weight, g.ln1Bias, d.dY1, a.residual1, w.ln1Weight,
                                      a.mean1, a.rstd1, T: T, C: C,
                                      dropout: hiddenDropoutMask(Site.attentionOutput(l), fromRow: t0))
            dProjection = UnsafePointer(dropsHidden ? d.dDropped : d.dHidden)
            matmulBackward(d.dContext, g.outputWeight, g.outputBias, dProjection, a.context, w.outputWeight,
                           T: T, IC: C, OC: C, precision: precision, scratch: gemmScratch,
                           converted: ConvertedInputs(weight: w16?.output, weightPanels: w16?.panels?.inputGradient.output))
            attentionBackward(d.dQ, d.dK, d.dV, d.dContext, a.q, a.k, a.v, offsets,
                              B: B, NH: NH, C: C, dropout: attentionDropoutKey(l, fromRow: t0), scratch: attentionScratch)
            let x16 = gemmScratch?.b.convert(x, count: T * C)          // their dout goes to the first area
            matmulBackward(d.dHidden, g.valueWeight, g.valueBias, d.dV, x, w.valueWeight,
                           T: T, IC: C, OC: C, accumulateInput: true, precision: precision, scratch: gemmScratch,
                           converted: ConvertedInputs(input: x16, weight: w16?.value, weightPanels: w16?.panels?.inputGradient.value))
            matmulBackward(d.dHidden, g.keyWeight, g.keyBias, d.dK, x, w.keyWeight,
                           T: T, IC: C, OC: C, accumulateInput: true, precision: precision, scratch: gemmScratch,
                           converted: ConvertedInputs(input: x16, weight: w16?.key, weightPanels: w16?.panels?.inputGradient.key))
            matmulBackward(d.dHidden, g.queryWeight, g.queryBias, d.dQ, x, w.queryWeight,
                           T: T, IC: C, OC: C, accumulateInput: true, precision: precision, scratch: gemmScratch,
                           converted: ConvertedInputs(input: x16, weight: w16?.query, weightPanels: w16?.panels?.inputGradient.query))
            if part.rows.count == tokens {
                gradientsFinal?(g.queryWeight - slab ..< (l + 1 < layerCount ? grads.layers[l + 1].queryWeight - slab : classifierStart))
            }
        }
    }

    /// into[i] += from[i], then from[i] = 0, for `count` values.
    private func addAndClear(_ into: UnsafeMutablePointer<Float>, _ from: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count, grain: 1 << 16) { range in
            for i in range {
                into[i] += from[i]
                from[i] = 0
            }
        }
    }
}

/// One encoder layer's projection weights in a `BF16Buffer`, each [OC, IC] as the parameters hold it.
private struct LayerBF16Weights {
    let query, key, value, output: BF16Matrix       // [C, C]
    let intermediate: BF16Matrix                    // [F, C]
    let ffOutput: BF16Matrix                        // [C, F]

    /// The same weights packed for the forward's products (nil: not packed, or oneDNN does not run them).
    typealias Packed = (query: PackedWeights, key: PackedWeights, value: PackedWeights, output: PackedWeights,
                        intermediate: PackedWeights, ffOutput: PackedWeights)
    let packed: Packed?

    /// In training on the AMX kernel, the same weights in its panels for the forward's products and for the input
    /// gradients' (nil otherwise): laid out once per change, for every lane.
    let panels: (forward: LayerPackedWeights<AMXPanels>, inputGradient: LayerPackedWeights<AMXPanels>)?

    static func count(C: Int, F: Int) -> Int { 4 * C * C + 2 * C * F }

    init(_ buffer: BF16Buffer, offset: Int, C: Int, F: Int, packed pack: Bool) {
        query = buffer.matrix(offset: offset, count: C * C)
        key = buffer.matrix(offset: offset + C * C, count: C * C)
        value = buffer.matrix(offset: offset + 2 * C * C, count: C * C)
        output = buffer.matrix(offset: offset + 3 * C * C, count: C * C)
        intermediate = buffer.matrix(offset: offset + 4 * C * C, count: C * F)
        ffOutput = buffer.matrix(offset: offset + 4 * C * C + C * F, count: C * F)
        // The intermediate projection's bias is added with the activation; the others' with their products.
        if pack, let query = PackedWeights(n: C, k: C, bias: true), let key = PackedWeights(n: C, k: C, bias: true),
           let value = PackedWeights(n: C, k: C, bias: true), let output = PackedWeights(n: C, k: C, bias: true),
           let intermediate = PackedWeights(n: F, k: C, bias: false), let ffOutput = PackedWeights(n: C, k: F, bias: true) {
            packed = (query, key, value, output, intermediate, ffOutput)
        } else {
            packed = nil
        }
        func laidOut(_ product: AMXPanels.Product) -> LayerPackedWeights<AMXPanels>? {
            LayerPackedWeights(C: C, F: F) { AMXPanels(outputs: $0, inputs: $1, product: product) }
        }
        if !pack, let forward = laidOut(.forward), let inputGradient = laidOut(.inputGradient) {
            panels = (forward, inputGradient)
        } else {
            panels = nil
        }
    }

    /// Packs the converted weights for the forward's products, or lays them out in the AMX kernel's panels, when
    /// they are kept so.
    func pack() {
        if let panels {
            let weights = [query, key, value, output, intermediate, ffOutput]
            for (forward, weight) in zip(panels.forward.all, weights) { forward.pack(weight) }
            for (inputGradient, weight) in zip(panels.inputGradient.all, weights) { inputGradient.pack(weight) }
        }
        guard let packed else { return }
        packed.query.pack(query)
        packed.key.pack(key)
        packed.value.pack(value)
        packed.output.pack(output)
        packed.intermediate.pack(intermediate)
        packed.ffOutput.pack(ffOutput)
    }
}

/// A weight laid out for inference's products from its single-precision values, laid out again after each change.
private protocol PackedFromFloats {
    func pack(_ weight: UnsafePointer<Float>)
}

extension PackedFP32Weights: PackedFromFloats {}
extension PackedInt8Weights: PackedFromFloats {}

/// One encoder layer's projection weights laid out for products: for inference's, in the packed single-precision
/// kernel's panels (`PackedFP32Weights`) or quantized and packed for INT8 (`PackedInt8Weights`); for training's on
/// the AMX kernel, in its panels (`AMXPanels`).
private struct LayerPackedWeights<Weight> {
    let query, key, value, output: Weight     // [C, C]
    let intermediate: Weight                  // [F, C]
    let ffOutput: Weight                      // [C, F]

    /// Nil where `make` (a weight of n rows and k columns) gives nil, as where its products do not run.
    init?(C: Int, F: Int, make: (_ n: Int, _ k: Int) -> Weight?) {
        guard let query = make(C, C), let key = make(C, C), let value = make(C, C), let output = make(C, C),
              let intermediate = make(F, C), let ffOutput = make(C, F)
        else { return nil }
        (self.query, self.key, self.value, self.output) = (query, key, value, output)
        (self.intermediate, self.ffOutput) = (intermediate, ffOutput)
    }

    /// The six in one order: query, key, value, output, intermediate, feed-forward output.
    var all: [Weight] { [query, key, value, output, intermediate, ffOutput] }
}

extension LayerPackedWeights where Weight: PackedFromFloats {
    func pack(_ w: LayerViews) {
        let weights = [w.queryWeight, w.keyWeight, w.valueWeight, w.outputWeight, w.intermediateWeight, w.ffOutputWeight]
        for (packed, weight) in zip(all, weights) { packed.pack(weight) }
    }
}

/// One encoder layer's projection weights quantized per output channel and packed for INT8 inference: query, key
/// and value as one [3C, C] weight (one product, whose rows hold a token's q, k and v side by side), with their
/// biases end to end.
private final class LayerInt8Weights {
    let queryKeyValue, output: PackedInt8Weights        // [3C, C], [C, C]
    let intermediate: PackedInt8Weights                  // [F, C]
    let ffOutput: PackedInt8Weights                      // [C, F]
    private let bias: FloatSlab                          // [3C]

    /// Nil where INT8 products do not run (`PackedInt8Weights.init`).
    init?(C: Int, F: Int) {
        guard let queryKeyValue = PackedInt8Weights(n: 3 * C, k: C), let output = PackedInt8Weights(n: C, k: C),
              let intermediate = PackedInt8Weights(n: F, k: C), let ffOutput = PackedInt8Weights(n: C, k: F)
        else { return nil }
        (self.queryKeyValue, self.output, self.intermediate, self.ffOutput) = (queryKeyValue, output, intermediate, ffOutput)
        bias = FloatSlab(count: 3 * C)
    }

    /// The query, key and value biases end to end [3C].
    var queryKeyValueBias: UnsafePointer<Float> { UnsafePointer(bias.pointer) }

    func pack(_ w: LayerViews) {
        let C = queryKeyValue.k
        let joined = UnsafeMutablePointer<Float>.allocate(capacity: 3 * C * C)
        defer { joined.deallocate() }
        for (i, weight) in [w.queryWeight, w.keyWeight, w.valueWeight].enumerated() {
            (joined + i * C * C).initialize(from: weight, count: C * C)
        }
        queryKeyValue.pack(joined)
        for (i, b) in [w.queryBias, w.keyBias, w.valueBias].enumerated() { (bias.pointer + i * C).update(from: b, count: C) }
        output.pack(w.outputWeight)
        intermediate.pack(w.intermediateWeight)
        ffOutput.pack(w.ffOutputWeight)
    }
}

/// FNV-1a over the name's UTF-8: a stable per-tensor seed salt.
private func fnv1a(_ string: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in string.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}

/// The indices of a forward's parts, handed out one at a time, in order, to the lanes that ask.
private final class PartQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let count: Int

    init(count: Int) { self.count = count }

    func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}
