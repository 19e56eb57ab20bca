/// A corpus ready for the model: sentences encoded and aligned, cut into windows, and served as
/// packed batches.
public struct TokenClassificationDataset: Sendable {
    public let corpus: Corpus
    /// Per sentence of `corpus`, its pieces and aligned labels.
    public let encoded: [EncodedSentence]
    /// Every model input, in sentence order; each word is owned by exactly one.
    public let windows: [SequenceWindow]
    public let clsID: Int32
    public let sepID: Int32

    /// Encodes `corpus` with `encoder`; with `labels`, aligns the corpus's labels (an unknown one
    /// is an error naming its line).
    public init(corpus: Corpus, encoder: inout SentenceEncoder, clsID: Int32, sepID: Int32,
                labels: LabelSet? = nil, labelAllSubwords: Bool = false, windowing: Windowing) throws {
        let encoded = try encoder.encode(corpus, labels: labels, labelAllSubwords: labelAllSubwords)
        self.init(corpus: corpus, encoded: encoded, windows: try windowing.windows(of: encoded, corpus: corpus),
                  clsID: clsID, sepID: sepID)
    }

    public init(corpus: Corpus, encoded: [EncodedSentence], windows: [SequenceWindow], clsID: Int32, sepID: Int32) {
        self.corpus = corpus
        self.encoded = encoded
        self.windows = windows
        self.clsID = clsID
        self.sepID = sepID
    }

    /// Token count of every window, the lengths batches are planned from.
    public var windowLengths: [Int] { windows.map(\.tokenCount) }

    /// Batches of window indices for one pass over the data.
    public func plan(_ planner: BatchPlanner, order: BatchOrder) throws -> [[Int]] {
        try planner.plan(lengths: windowLengths, order: order)
    }

    /// Packs the windows at `indices`.
    public func batch(_ indices: [Int]) -> PackedBatch {
        PackedBatch(windows: indices.map { windows[$0] }, encoded: encoded, clsID: clsID, sepID: sepID)
    }

    /// All batches of one pass.
    public func batches(_ planner: BatchPlanner, order: BatchOrder) throws -> [PackedBatch] {
        try plan(planner, order: order).map(batch)
    }

    /// An empty collector for word-level predictions over this corpus.
    public func makePredictions() -> WordPredictions {
        WordPredictions(wordCounts: corpus.sentences.map(\.words.count))
    }
}

/// Word-level predictions gathered batch by batch.
public struct WordPredictions: Sendable, Equatable {
    /// Per sentence, per word: predicted label id, or -1 while not yet predicted.
    public private(set) var labelIDs: [[Int32]]

    public init(wordCounts: [Int]) {
        labelIDs = wordCounts.map { [Int32](repeating: -1, count: $0) }
    }

    /// Words not yet predicted.
    public var missingCount: Int { labelIDs.reduce(0) { $0 + $1.lazy.filter { $0 < 0 }.count } }
    public var isComplete: Bool { missingCount == 0 }

    /// Records `tokenLabelIDs` ([T], one predicted label id per token of `batch`); each owned
    /// word takes the prediction of its first piece.
    public mutating func record(_ batch: PackedBatch, tokenLabelIDs: [Int32]) throws {
        guard tokenLabelIDs.count == batch.tokenCount else {
            throw DatasetError.predictionShape(expected: batch.tokenCount, found: tokenLabelIDs.count, what: "token predictions")
        }
        for target in batch.wordTokens {
            labelIDs[target.sentence][target.word] = tokenLabelIDs[target.token]
        }
    }

    /// Records `logits` ([T, labelCount] row-major); each owned word takes the argmax of its
    /// first piece's row (the first maximum on ties, as `torch.argmax`).
    public mutating func record(_ batch: PackedBatch, logits: [Float], labelCount: Int) throws {
        guard labelCount > 0, logits.count == batch.tokenCount * labelCount else {
            throw DatasetError.predictionShape(expected: batch.tokenCount * labelCount, found: logits.count, what: "logits")
        }
        logits.withUnsafeBufferPointer { rows in
            for target in batch.wordTokens {
                let row = target.token * labelCount
                var best = 0
                for label in 1..<labelCount where rows[row + label] > rows[row + best] { best = label }
                labelIDs[target.sentence][target.word] = Int32(best)
            }
        }
    }

    /// The predicted labels, or an error if some word was never predicted.
    public func labels(_ labelSet: LabelSet) throws -> [[String]] {
        let missing = missingCount
        guard missing == 0 else {
            throw DatasetError.incompletePredictions(missing: missing)
        }
        return try labelIDs.map { sentence in
            try sentence.map { id in
                guard Int(id) < labelSet.count else {
                    throw DatasetError.labelIDOutOfRange(id: Int(id), labelCount: labelSet.count)
                }
                return labelSet.labels[Int(id)]
            }
        }
    }
}
