import Datasets
import Foundation
import Tagger
import Tensors

/// Everything that decides a training run; saved as `options.json` in the run directory, so a run can be
/// read back, compared and resumed.
public struct TrainingOptions: Codable, Sendable, Equatable {
    /// A HuggingFace BERT directory: config.json, model.safetensors and tokenizer files.
    public var model: String
    public var train: String
    public var dev: String
    public var test: String?
    public var output: String

    public var epochs: Int = 3
    public var learningRate: Double = 1e-4
    /// At most this many real tokens (sub-words with [CLS]/[SEP], no padding) per optimizer micro-batch.
    public var batchTokens: Int = 4096
    /// At most this many sentences (windows) per micro-batch, when set. 32 sentences a batch, as transformers'
    /// Trainer takes them, narrowed the spread of test F1 over seeds against 640-token batches (README, Accuracy).
    public var batchSentences: Int? = 32
    public var gradientAccumulation: Int = 1
    /// Fill each batch with sequences of about one length instead of a random sample of the corpus.
    public var groupByLength: Bool = false
    /// Warmup: a fraction of all optimizer steps when below 1, else a number of steps.
    public var warmup: Double = 0.1
    public var weightDecay: Double = 0.01
    public var maxGradNorm: Double = 1.0
    /// Longest model input in sub-words, [CLS] and [SEP] included; longer sentences are windowed.
    public var maxLength: Int?
    /// Sub-words shared by neighbouring windows of an over-long sentence.
    public var stride: Int?
    /// Sub-words of the neighbouring sentences of the same document fed on each side of a sentence as
    /// context (never labelled or scored); 0 feeds every sentence alone.
    public var context: Int = 0
    /// Token and label columns of the CoNLL files (negative counts from the end).
    public var tokenColumn: Int = 0
    public var labelColumn: Int = -1
    /// Format of the corpus files; nil takes each file's from its extension.
    public var inputFormat: CorpusFormat?
    /// JSON Lines key of the tags; nil tries `tags`, then `ner_tags`.
    public var tagField: String?
    /// Names of integer JSON Lines tags, in id order.
    public var labelNames: [String]?
    /// What to do with dev and test labels training never saw.
    public var unseenLabels: UnseenLabelPolicy = .error
    public var labelAllSubwords: Bool = false
    public var seed: UInt64 = 42
    public var threads: Int?
    /// How a data-parallel run sums its gradients over the ranks; nil for `GradientReduction.standard`. The
    /// same run either way, so a resumed run may change it.
    public var allreduce: GradientReduction?
    /// Stop after this many evaluations without a better dev score.
    public var patience: Int?
    /// Also evaluate every this many optimizer steps (besides each epoch's end).
    public var evalEvery: Int?
    /// Log training loss every this many optimizer steps.
    public var logEvery: Int = 10
    /// Save the resumable state every this many optimizer steps (besides each evaluation).
    public var saveEvery: Int = 500
    /// The dev metric that picks the best model; nil chooses F1 for tagging schemes, accuracy otherwise.
    public var metric: Metric?
    /// Number format of the encoder's matrix products (`auto`: BF16 on AMX processors, else FP32).
    public var precision: PrecisionChoice = .auto
    /// How dev and test labels are read from the model's scores, as the saved model then tags: the best
    /// well-formed sequence under the scheme of the training labels (`viterbi`), or each word's best label.
    public var decoding: Decoding = .viterbi

    public enum Metric: String, Codable, Sendable, CaseIterable {
        case f1, accuracy
    }

    public init(model: String, train: String, dev: String, test: String? = nil, output: String) {
        self.model = model
        self.train = train
        self.dev = dev
        self.test = test
        self.output = output
    }

    enum CodingKeys: String, CodingKey {
        case model, train, dev, test, output, epochs, learningRate, batchTokens, batchSentences, gradientAccumulation, groupByLength
        case warmup, weightDecay, maxGradNorm, maxLength, stride, context, tokenColumn, labelColumn, labelAllSubwords, seed
        case threads, patience, evalEvery, logEvery, saveEvery, metric, precision
        case inputFormat, tagField, labelNames, unseenLabels, decoding, allreduce
    }

    /// Keys absent from a saved options.json (a run from before an option existed) take their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(model: try c.decode(String.self, forKey: .model), train: try c.decode(String.self, forKey: .train),
                  dev: try c.decode(String.self, forKey: .dev), test: try c.decodeIfPresent(String.self, forKey: .test),
                  output: try c.decode(String.self, forKey: .output))
        func value<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? current
        }
        epochs = try value(.epochs, epochs)
        learningRate = try value(.learningRate, learningRate)
        batchTokens = try value(.batchTokens, batchTokens)
        batchSentences = try c.decodeIfPresent(Int.self, forKey: .batchSentences)
        gradientAccumulation = try value(.gradientAccumulation, gradientAccumulation)
        // Runs saved before the option existed grouped their batches by length: resuming one keeps its batches.
        groupByLength = try c.decodeIfPresent(Bool.self, forKey: .groupByLength) ?? true
        warmup = try value(.warmup, warmup)
        weightDecay = try value(.weightDecay, weightDecay)
        maxGradNorm = try value(.maxGradNorm, maxGradNorm)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
        stride = try c.decodeIfPresent(Int.self, forKey: .stride)
        context = try value(.context, context)
        tokenColumn = try value(.tokenColumn, tokenColumn)
        labelColumn = try value(.labelColumn, labelColumn)
        labelAllSubwords = try value(.labelAllSubwords, labelAllSubwords)
        inputFormat = try c.decodeIfPresent(CorpusFormat.self, forKey: .inputFormat)
        tagField = try c.decodeIfPresent(String.self, forKey: .tagField)
        labelNames = try c.decodeIfPresent([String].self, forKey: .labelNames)
        unseenLabels = try value(.unseenLabels, unseenLabels)
        seed = try value(.seed, seed)
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        allreduce = try c.decodeIfPresent(GradientReduction.self, forKey: .allreduce)
        patience = try c.decodeIfPresent(Int.self, forKey: .patience)
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery)
        logEvery = try value(.logEvery, logEvery)
        saveEvery = try value(.saveEvery, saveEvery)
        metric = try c.decodeIfPresent(Metric.self, forKey: .metric)
        // Runs saved before the option existed multiplied in single precision.
        precision = try value(.precision, PrecisionChoice.fp32)
        // Runs saved before the option existed evaluated with argmax: resuming one picks its best model alike.
        decoding = try value(.decoding, Decoding.argmax)
    }

    /// Checks the options against each other before any work starts.
    public func validate() throws {
        func bad(_ message: String) -> TrainingError { .invalidOption(message) }
        if epochs <= 0 { throw bad("--epochs must be positive, not \(epochs)") }
        // Every epoch's batches are planned up front.
        if epochs > Self.maxEpochs { throw bad("--epochs must be at most \(Self.maxEpochs), not \(epochs)") }
        if !(learningRate > 0) || !learningRate.isFinite { throw bad("--lr must be a finite number above 0 (for example 5e-5), not \(learningRate)") }
        if batchTokens <= 2 { throw bad("--batch-tokens must exceed 2 (a sentence needs [CLS] and [SEP]), not \(batchTokens)") }
        if batchTokens > Self.maxBatchTokens {
            throw bad("--batch-tokens must be at most \(Self.maxBatchTokens) (activations are planned for a full batch), not \(batchTokens)")
        }
        if let batchSentences, batchSentences <= 0 { throw bad("--batch-sentences must be positive, not \(batchSentences); 0 leaves only --batch-tokens to bound a batch") }
        if gradientAccumulation <= 0 { throw bad("--gradient-accumulation must be positive, not \(gradientAccumulation)") }
        if !(warmup >= 0) || !warmup.isFinite {
            throw bad("--warmup must be a fraction of the steps in [0, 1) or a whole number of steps, not \(warmup)")
        }
        if warmup >= 1 && warmup.rounded() != warmup {
            throw bad("--warmup \(warmup) is neither a fraction below 1 nor a whole number of steps")
        }
        if !(weightDecay >= 0) || !weightDecay.isFinite { throw bad("--weight-decay must be a finite number of 0 or more, not \(weightDecay)") }
        if !(maxGradNorm >= 0) || !maxGradNorm.isFinite {
            throw bad("--max-grad-norm must be a finite number of 0 or more (0 turns clipping off), not \(maxGradNorm)")
        }
        if let maxLength, maxLength < 3 { throw bad("--max-length must be at least 3, not \(maxLength)") }
        if let maxLength, maxLength > batchTokens {
            throw bad("--max-length (\(maxLength)) exceeds --batch-tokens (\(batchTokens)): a full-length window must fit in a batch")
        }
        if let stride, stride < 0 { throw bad("--stride must be 0 or more, not \(stride)") }
        if context < 0 { throw bad("--context must not be negative (0 turns it off), not \(context)") }
        if let threads, threads <= 0 || threads > Self.maxThreads {
            throw bad("--threads must be between 1 and \(Self.maxThreads), not \(threads)")
        }
        if let patience, patience <= 0 { throw bad("--patience must be positive, not \(patience)") }
        if let evalEvery, evalEvery <= 0 { throw bad("--eval-every must be positive, not \(evalEvery)") }
        if logEvery <= 0 { throw bad("--log-every must be positive, not \(logEvery)") }
        if saveEvery <= 0 { throw bad("--save-every must be positive, not \(saveEvery)") }
    }

    /// Upper bounds of the options whose size the run allocates or plans for.
    public static let maxEpochs = 10_000
    public static let maxBatchTokens = 1 << 20
    public static let maxThreads = 1024

    /// The number of warmup steps for a run of `totalSteps` optimizer steps.
    public func warmupSteps(totalSteps: Int) -> Int {
        warmup < 1 ? Int((warmup * Double(totalSteps)).rounded(.up)) : Int(warmup)
    }
}
