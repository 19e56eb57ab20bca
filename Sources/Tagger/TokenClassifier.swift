import BERT
import Datasets
import Foundation
import SeqEval
import Tensors
import Tokenizer

/// A token-classification model ready to tag corpora: the tokenizer, the network and its label set, as
/// loaded from one HuggingFace-style directory. Training evaluates with it and `predict` tags with it, so
/// both follow exactly the same path from words to labels.
public final class TokenClassifier {
    public let directory: URL
    public let tokenizer: BertTokenizer
    public let model: BertForTokenClassification
    public let labels: LabelSet
    /// Labels the checkpoint holds no classifier for, initialised from the seed (empty for a trained model).
    public let initializedTensors: [String]
    /// Tensors in the checkpoint that token classification does not use (pooler, pre-training heads).
    public let ignoredTensors: [String]

    /// Loads `directory`. With `labels`, the classifier gets one output per label (a checkpoint's own
    /// classifier must then match); without, the labels come from the checkpoint's config. `precision` is the
    /// format of the encoder's matrix products. `purpose` `.inference` builds a model that only tags (no
    /// gradients, a fraction of the memory); a classifier the trainer trains keeps `.training`.
    public init(directory: URL, labels: [String]? = nil, maxTokens: Int, seed: UInt64,
                precision: GEMMPrecision = .fp32, purpose: ModelPurpose = .training) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TaggerError.missingModelDirectory(path: directory.path)
        }
        let checkpoint = try Checkpoint(directory: directory, labels: labels)
        tokenizer = try BertTokenizer(directory: directory)
        self.labels = try LabelSet(checkpoint.labels)
        let model = try checkpoint.makeModel(maxTokens: maxTokens, seed: seed, precision: precision, purpose: purpose)
        self.model = model
        ignoredTensors = checkpoint.ignoredTensors
        initializedTensors = checkpoint.hasClassifier ? [] : ["classifier.weight", "classifier.bias"]
    }

    /// The longest input the model takes, [CLS] and [SEP] included.
    public var maxLength: Int { min(model.config.maxPositionEmbeddings, model.maxTokens) }

    /// Encodes `corpus` for this model: sub-words, aligned labels when `labelled`, windows for long sentences
    /// and, when `windowing` asks for it, context from neighbouring sentences of the same document.
    public func dataset(_ corpus: Corpus, labelled: Bool, windowing: Windowing,
                        labelAllSubwords: Bool = false) throws -> TokenClassificationDataset {
        var encoder = SentenceEncoder(tokenizer: tokenizer)
        return try TokenClassificationDataset(corpus: corpus, encoder: &encoder, clsID: tokenizer.clsID,
                                              sepID: tokenizer.sepID, labels: labelled ? labels : nil,
                                              labelAllSubwords: labelAllSubwords, windowing: windowing)
    }

    /// Word-level predictions for every sentence of `dataset`, and the mean loss over labelled tokens when the
    /// dataset carries labels. Each word is read from its first piece and decoded as the Tagger decodes:
    /// `viterbi` gives the best well-formed sequence under `scheme` (every sequence is well formed without
    /// one, so labels such as POS tags are decoded unconstrained), `argmax` each word's best label on its own.
    /// `progress` hears the number of batches done.
    public func predict(_ dataset: TokenClassificationDataset, batches: [PackedBatch], decoding: Decoding = .argmax,
                        scheme: TaggingScheme? = nil,
                        progress: ((Int) -> Void)? = nil) throws -> (predictions: [[String]], loss: Double?) {
        switch decoding {
        case .argmax:
            // The first maximum of the first piece's logits, as `torch.argmax`: no probabilities needed.
            var collected = dataset.makePredictions()
            var logits: [Float] = []
            let loss = try run(batches, progress: progress) { batch, rows in
                logits.removeAll(keepingCapacity: true)
                logits.append(contentsOf: rows)
                try collected.record(batch, logits: logits, labelCount: model.numLabels)
            }
            return (try collected.labels(labels), loss)
        case .viterbi:
            let transitions = try LabelTransitions(labels: labels.labels, scheme: scheme)
            let (probabilities, loss) = try wordProbabilities(dataset, batches: batches, progress: progress)
            let predictions = try probabilities.map { rows in
                try transitions.decode(probabilities: rows, .viterbi).map { labels.labels[$0] }
            }
            return (predictions, loss)
        }
    }

    /// Per sentence of `dataset`, [W, NL]: every word's label probabilities from its first piece (in the window
    /// that owns the word), and the mean loss over labelled tokens when the dataset carries labels.
    public func wordProbabilities(_ dataset: TokenClassificationDataset, batches: [PackedBatch],
                                  progress: ((Int) -> Void)? = nil) throws -> (probabilities: [[Double]], loss: Double?) {
        var scores = WordScores(wordCounts: dataset.encoded.map(\.wordCount), labelCount: labels.count, aggregation: .first)
        let loss = try run(batches, progress: progress) { batch, logits in scores.record(batch, logits: logits) }
        let probabilities = try dataset.encoded.indices.map { s in
            guard let rows = scores.finished(sentence: s) else { throw TaggerError.unpredictedWords(sentence: s) }
            return rows
        }
        return (probabilities, loss)
    }

    /// Runs the model over `batches`, handing each batch's logits ([T, NL]) to `record`; the mean loss over
    /// labelled tokens, if any.
    private func run(_ batches: [PackedBatch], progress: ((Int) -> Void)?,
                     record: (PackedBatch, UnsafeBufferPointer<Float>) throws -> Void) throws -> Double? {
        var lossSum = 0.0
        var labelled = 0
        for (index, batch) in batches.enumerated() {
            let hasLabels = batch.labels.contains { $0 != ignoredLabelID }
            let loss = try model.forward(inputIDs: batch.inputIDs, positionIDs: batch.positionIDs,
                                         sequenceOffsets: batch.sequenceOffsets,
                                         labels: hasLabels ? batch.labels : nil, training: false)
            if let loss, hasLabels {
                let count = batch.labels.lazy.filter { $0 != ignoredLabelID }.count
                lossSum += Double(loss) * Double(count)
                labelled += count
            }
            try record(batch, model.logits)
            progress?(index + 1)
        }
        return labelled > 0 ? lossSum / Double(labelled) : nil
    }
}
