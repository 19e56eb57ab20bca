import BERT
import Datasets
import Foundation
import SeqEval
import Tensors
import Tokenizer

/// One word of a tagged text: its span, its label and that label's probability.
public struct TaggedWord: Sendable, Equatable, Codable {
    public var text: String
    /// Span in the text in Unicode scalars (as Python indexes a `str`), `end` exclusive.
    public var start: Int
    public var end: Int
    public var label: String
    /// The probability of `label` for this word (after sub-word aggregation).
    public var probability: Double
}

/// An entity found in a text.
public struct TaggedEntity: Sendable, Equatable, Codable {
    public var type: String
    /// Span in the text in Unicode scalars, `end` exclusive: `text` is exactly the input's scalars `start..<end`.
    public var start: Int
    public var end: Int
    public var text: String
    /// The mean probability of the entity's word labels.
    public var score: Double
    /// The entity's words, indices into `TaggedText.words`.
    public var words: Range<Int>
}

/// A text with its words and entities.
public struct TaggedText: Sendable, Equatable, Codable {
    /// The text the offsets count in: the input text, or for pre-split words those words joined by single spaces.
    public var text: String
    public var words: [TaggedWord]
    public var entities: [TaggedEntity]
}

/// A token-classification model ready to tag raw text or pre-split words: made once from a model directory (ours,
/// or any HuggingFace `BertForTokenClassification` directory), then called from any number of threads at once.
///
/// How it tags is set by the model's `TaggingSettings` (saved beside it by `train`, defaults otherwise): long
/// inputs are cut into overlapping windows whose predictions are merged so that every word is predicted exactly
/// once (by the window where it has most context on both sides), sub-word scores are combined per word
/// (`aggregation`), and word labels are decoded (`decoding`: by default the well-formed sequence under the label
/// scheme with the largest summed log-probability). Entities are read from the labels under that scheme.
public final class Tagger: Sendable {
    public let directory: URL
    public let settings: TaggingSettings
    public let labels: LabelSet
    /// The scheme labels are decoded and read under; nil for labels without one (POS tags), which are decoded
    /// without constraints and mark no entities.
    public let scheme: TaggingScheme?
    public let transitions: LabelTransitions
    public let tokenizer: BertTokenizer
    public let config: BertConfig
    public let precision: GEMMPrecision
    /// Windows and document context, from the settings and the model's maximum length.
    public let windowing: Windowing
    /// Most tokens the model runs at once.
    public let batchTokens: Int
    private let pool: ModelPool

    /// Loads `directory`. `settings` replaces the directory's own (read them with `TaggingSettings.load(from:)`
    /// to change one). `precision` is the number format of the encoder's matrix products. `batchTokens` bounds
    /// the tokens of one forward pass; `concurrency` how many calls run the model at once (each one beyond the
    /// first holds a copy of the weights; further calls wait).
    public init(directory: URL, settings: TaggingSettings? = nil, precision: PrecisionChoice = .auto,
                batchTokens: Int = 4096, concurrency: Int = 2) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TaggerError.missingModelDirectory(path: directory.path)
        }
        guard batchTokens >= 3 else {
            throw TaggerError.invalidOption("the batch token budget \(batchTokens) leaves no room for a word between [CLS] and [SEP]; use at least 3")
        }
        guard concurrency >= 1 else {
            throw TaggerError.invalidOption("concurrency \(concurrency) must be at least 1")
        }
        let settingsFile = directory.appendingPathComponent(TaggingSettings.fileName).path
        let settings = try settings ?? TaggingSettings.load(from: directory)
        try ComputeLibraries.load()
        if precision == .int8 && !BLAS.int8Runs {
            throw TaggerError.invalidOption("--precision int8 needs oneDNN (`apt-get install libdnnl-dev`; bash Scripts/setup.sh installs it) and a processor with AVX-VNNI, AVX512-VNNI or AMX, whose 8-bit products sum exactly; here: \(ComputeLibraries.int8Description). Choose fp32 or bf16")
        }

        let weightsPath = directory.appendingPathComponent(Checkpoint.weightsFileName).path
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint(directory: directory)
        } catch CheckpointError.noLabels {
            // Only a checkpoint without a classifier can lack labels.
            throw TaggerError.noClassifier(path: weightsPath)
        }
        guard checkpoint.hasClassifier else { throw TaggerError.noClassifier(path: weightsPath) }
        tokenizer = try BertTokenizer(directory: directory)
        labels = try LabelSet(checkpoint.labels)
        scheme = settings.scheme ?? TaggingScheme.inferred(labels: labels.labels)
        do {
            transitions = try LabelTransitions(labels: labels.labels, scheme: scheme)
        } catch let error as DecodingError {
            throw TaggerError.labelsOutsideScheme(
                file: settings.scheme != nil ? settingsFile : directory.appendingPathComponent(Checkpoint.configFileName).path,
                problem: "\(error)")
        }
        config = checkpoint.config
        let maxLength = min(settings.maxLength ?? config.maxPositionEmbeddings, config.maxPositionEmbeddings, batchTokens)
        do {
            windowing = try Windowing(maxLength: maxLength, stride: settings.stride, context: settings.context)
        } catch let error as DatasetError {
            throw TaggerError.invalidSettings(file: settingsFile, key: settings.stride != nil ? "stride" : "max_length",
                                              problem: "\(error)")
        }
        self.directory = directory
        self.settings = settings
        self.batchTokens = batchTokens
        self.precision = precision.resolved
        let model = try checkpoint.makeModel(maxTokens: batchTokens, precision: self.precision, purpose: .inference)
        pool = ModelPool(model, limit: concurrency)
    }

    /// Models made so far to serve overlapping calls (at most `concurrency`).
    public var modelCount: Int { pool.count }

    // MARK: - Tagging

    /// Tags one raw text: words as BERT's pre-tokenizer splits it, offsets in Unicode scalars.
    public func tag(text: String) throws -> TaggedText {
        try tag(texts: [text])[0]
    }

    /// Tags raw texts, batched together; each text is a document of its own (no context crosses texts).
    public func tag(texts: [String]) throws -> [TaggedText] {
        let split = texts.map { TextWords($0, tokenizer: tokenizer) }
        for (index, words) in split.enumerated() {
            for w in 0..<words.encoded.wordCount where words.encoded.pieces(ofWord: w).count > windowing.capacity {
                throw TaggerError.wordTooLong(text: index, start: words.spans[w].lowerBound, word: words.text(words.spans[w]),
                                              pieces: words.encoded.pieces(ofWord: w).count, maxLength: windowing.maxLength)
            }
        }
        let sentences = split.indices.map { index in
            Sentence(words: split[index].spans.map { split[index].text($0) }, document: index, line: index + 1)
        }
        let corpus = Corpus(file: "text", sentences: sentences, documentCount: texts.count)
        let decoded = try decodeWords(corpus: corpus, encoded: split.map(\.encoded))
        return texts.indices.map { index in
            let words = split[index].spans.enumerated().map { w, span in
                TaggedWord(text: sentences[index].words[w], start: span.lowerBound, end: span.upperBound,
                           label: decoded[index][w].label, probability: decoded[index][w].probability)
            }
            return TaggedText(text: texts[index], words: words,
                              entities: entities(of: words, scalars: split[index].scalars))
        }
    }

    /// Tags pre-split words (each word is pre-tokenized and split into sub-words on its own, as training reads
    /// CoNLL words). Offsets count in the words joined by single spaces.
    public func tag(words: [String]) throws -> TaggedText {
        try tag(corpus: Corpus(file: "words", sentences: [Sentence(words: words)]))[0]
    }

    /// Tags every sentence of `corpus`, with context from the neighbouring sentences of each document when the
    /// settings ask for it. Offsets count in each sentence's words joined by single spaces.
    public func tag(corpus: Corpus) throws -> [TaggedText] {
        var encoder = SentenceEncoder(tokenizer: tokenizer)
        let encoded = try encoder.encode(corpus)
        let decoded = try decodeWords(corpus: corpus, encoded: encoded)
        return corpus.sentences.enumerated().map { index, sentence in
            var words: [TaggedWord] = []
            words.reserveCapacity(sentence.words.count)
            var offset = 0
            for (w, word) in sentence.words.enumerated() {
                if w > 0 { offset += 1 }
                let length = word.unicodeScalars.count
                words.append(TaggedWord(text: word, start: offset, end: offset + length,
                                        label: decoded[index][w].label, probability: decoded[index][w].probability))
                offset += length
            }
            let text = sentence.words.joined(separator: " ")
            return TaggedText(text: text, words: words, entities: entities(of: words, scalars: Array(text.unicodeScalars)))
        }
    }

    // MARK: - From words to labels

    /// Runs the model over the windows of every sentence and decodes each sentence's word labels.
    private func decodeWords(corpus: Corpus, encoded: [EncodedSentence]) throws -> [[(label: String, probability: Double)]] {
        let probabilities = try wordProbabilities(corpus: corpus, encoded: encoded)
        let n = labels.count
        return try probabilities.map { rows in
            try transitions.decode(probabilities: rows, settings.decoding).enumerated().map { w, id in
                (labels.labels[id], rows[w * n + id])
            }
        }
    }

    /// Per sentence, [W, NL]: every word's label probabilities, combined over its sub-words.
    private func wordProbabilities(corpus: Corpus, encoded: [EncodedSentence]) throws -> [[Double]] {
        let windows = try windowing.windows(of: encoded, corpus: corpus)
        let plan = try BatchPlanner(maxTokens: batchTokens).plan(lengths: windows.map(\.tokenCount), order: .lengthSorted)
        var scores = WordScores(wordCounts: encoded.map(\.wordCount), labelCount: labels.count,
                                aggregation: settings.aggregation)
        for indices in plan {
            let batch = PackedBatch(windows: indices.map { windows[$0] }, encoded: encoded,
                                    clsID: tokenizer.clsID, sepID: tokenizer.sepID)
            try pool.withModel { model in
                try model.forward(inputIDs: batch.inputIDs, positionIDs: batch.positionIDs,
                                  sequenceOffsets: batch.sequenceOffsets, labels: nil, training: false)
                scores.record(batch, logits: model.logits)
            }
        }
        return try encoded.indices.map { s in
            guard let rows = scores.finished(sentence: s) else {
                throw TaggerError.unpredictedWords(sentence: s)
            }
            return rows
        }
    }

    /// The entities of a labelled text: read under the scheme when the labels were decoded to be well formed
    /// (and always for BILOU, whose `L-`/`U-` seqeval's default mode does not know), else as seqeval's default
    /// (conlleval) mode reads them, where an `I-` after `O` opens an entity. Labels without a scheme (POS tags)
    /// mark no entities.
    func entities(of words: [TaggedWord], scalars: [Unicode.Scalar]) -> [TaggedEntity] {
        guard let scheme else { return [] }
        let tags = words.map(\.label)
        let spans = settings.decoding == .viterbi || scheme == .bilou
            ? scheme.wellFormedEntities(in: tags) : SeqEval.entities(in: tags, mode: .default)
        return spans.map { span in
            let start = words[span.start].start, end = words[span.end - 1].end
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars[start..<end])
            let score = words[span.start..<span.end].reduce(0) { $0 + $1.probability } / Double(span.end - span.start)
            return TaggedEntity(type: span.type, start: start, end: end, text: String(text), score: score,
                                words: span.start..<span.end)
        }
    }
}
