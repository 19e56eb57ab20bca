/// The label id that marks a token the loss ignores (PyTorch's `CrossEntropyLoss` default and
/// HuggingFace's convention): [CLS], [SEP], continuation pieces, words another window owns,
/// and context from neighbouring sentences.
public let ignoredLabelID: Int32 = -100

/// HuggingFace's `tokenize_and_align_labels`, literally: the first piece of each word carries
/// the word's label, [CLS]/[SEP] (`nil` word ids) get -100, and the other pieces of a word get
/// -100, or with `labelAllSubwords` the word's label mapped through `continuation` (as
/// run_ner.py's `b_to_i_label`, see `LabelSet.continuationIDs`).
public func alignLabels(wordIDs: [Int?], wordLabels: [Int32], labelAllSubwords: Bool = false,
                        continuation: (Int32) -> Int32 = { $0 }) -> [Int32] {
    var previous: Int?
    return wordIDs.map { wordID in
        defer { previous = wordID }
        guard let wordID else { return ignoredLabelID }
        if wordID != previous { return wordLabels[wordID] }
        return labelAllSubwords ? continuation(wordLabels[wordID]) : ignoredLabelID
    }
}

/// A sentence turned into sub-word pieces (without [CLS]/[SEP]), with labels aligned to them.
///
/// Every word has at least one piece: a word the tokenizer turns into nothing (only control or
/// zero-width characters) is fed as one [UNK] piece, so that every word still gets exactly one
/// prediction.
public struct EncodedSentence: Sendable, Equatable {
    /// [P] piece ids of all words, end to end.
    public var pieceIDs: [Int32]
    /// [W+1] word `w` is pieces `wordStarts[w] ..< wordStarts[w+1]`.
    public var wordStarts: [Int32]
    /// [P] per piece: label id, or -100 where not scored; nil when the sentence has no labels.
    public var pieceLabels: [Int32]?
    /// How many words had no piece and were fed as [UNK].
    public var emptyWordCount: Int

    public init(pieceIDs: [Int32], wordStarts: [Int32], pieceLabels: [Int32]? = nil, emptyWordCount: Int = 0) {
        precondition(wordStarts.first == 0 && Int(wordStarts.last!) == pieceIDs.count, "wordStarts must span the pieces")
        precondition(pieceLabels == nil || pieceLabels!.count == pieceIDs.count, "one label per piece")
        self.pieceIDs = pieceIDs
        self.wordStarts = wordStarts
        self.pieceLabels = pieceLabels
        self.emptyWordCount = emptyWordCount
    }

    public var wordCount: Int { wordStarts.count - 1 }
    public var pieceCount: Int { pieceIDs.count }

    /// The pieces of word `w`.
    public func pieces(ofWord w: Int) -> Range<Int> { Int(wordStarts[w])..<Int(wordStarts[w + 1]) }

    /// [P] the word index of every piece.
    public var pieceWords: [Int] {
        var words: [Int] = []
        words.reserveCapacity(pieceIDs.count)
        for w in 0..<wordCount { words += repeatElement(w, count: pieces(ofWord: w).count) }
        return words
    }
}

/// Turns sentences into `EncodedSentence`s with a word-piece tokenizer, remembering the pieces
/// of every distinct word (a corpus repeats most of its words, so this saves most of the work).
public struct SentenceEncoder {
    private let piecesOfWord: (String) -> [Int32]
    /// The [UNK] id that stands in for a word without pieces.
    public let unknownID: Int32
    private var cache: [String: [Int32]] = [:]
    /// Every distinct word that had no piece, with how often it was met.
    public private(set) var emptyWords: [String: Int] = [:]

    /// `pieces` gives the ids of one word's pieces (without special tokens).
    public init(unknownID: Int32, pieces: @escaping (String) -> [Int32]) {
        self.unknownID = unknownID
        self.piecesOfWord = pieces
    }

    /// The pieces of `word`, from the cache when it was seen before.
    public mutating func pieces(of word: String) -> [Int32] {
        if let cached = cache[word] { return cached }
        let pieces = piecesOfWord(word)
        cache[word] = pieces
        return pieces
    }

    /// Encodes one sentence. With a label set, the sentence's labels are aligned to its pieces
    /// (an unknown label is an error naming `file` and the word's line).
    public mutating func encode(_ sentence: Sentence, labels labelSet: LabelSet? = nil, labelAllSubwords: Bool = false,
                                file: String = "") throws -> EncodedSentence {
        var pieceIDs: [Int32] = []
        pieceIDs.reserveCapacity(sentence.words.count * 2)
        var wordStarts: [Int32] = [0]
        wordStarts.reserveCapacity(sentence.words.count + 1)
        var emptyCount = 0
        for word in sentence.words {
            let pieces = pieces(of: word)
            if pieces.isEmpty {
                pieceIDs.append(unknownID)
                emptyCount += 1
                emptyWords[word, default: 0] += 1
            } else {
                pieceIDs += pieces
            }
            wordStarts.append(Int32(pieceIDs.count))
        }
        var encoded = EncodedSentence(pieceIDs: pieceIDs, wordStarts: wordStarts, emptyWordCount: emptyCount)
        if let labelSet {
            let wordLabels = try labelSet.ids(of: sentence, file: file)
            encoded.pieceLabels = alignLabels(wordIDs: encoded.pieceWords, wordLabels: wordLabels,
                                              labelAllSubwords: labelAllSubwords,
                                              continuation: { labelSet.continuationIDs[Int($0)] })
        }
        return encoded
    }

    /// Encodes every sentence of `corpus`.
    public mutating func encode(_ corpus: Corpus, labels: LabelSet? = nil, labelAllSubwords: Bool = false) throws -> [EncodedSentence] {
        try corpus.sentences.map { try encode($0, labels: labels, labelAllSubwords: labelAllSubwords, file: corpus.file) }
    }
}
