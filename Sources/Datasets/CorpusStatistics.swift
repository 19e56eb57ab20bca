import SeqEval

/// Summary of a list of lengths: nearest-rank percentiles and a histogram with power-of-two bins.
public struct LengthDistribution: Sendable, Equatable, Codable {
    /// One histogram bin: lengths in `lower ... upper` occur `count` times.
    public struct Bin: Sendable, Equatable, Codable {
        public var lower: Int
        public var upper: Int
        public var count: Int
    }

    public var count: Int
    public var min: Int
    public var median: Int
    public var p95: Int
    public var p99: Int
    public var max: Int
    public var mean: Double
    /// Bins 1...16, 17...32, 33...64, … up to the bin holding the longest length.
    public var histogram: [Bin]

    /// Nil for an empty list.
    public init?(_ lengths: [Int]) {
        guard !lengths.isEmpty else { return nil }
        let sorted = lengths.sorted()
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        func percentile(_ p: Int) -> Int { sorted[Swift.max(0, (p * sorted.count + 99) / 100 - 1)] }
        count = sorted.count
        min = sorted.first!
        max = sorted.last!
        median = percentile(50)
        p95 = percentile(95)
        p99 = percentile(99)
        mean = Double(sorted.reduce(0, +)) / Double(sorted.count)
        var bins: [Bin] = []
        var lower = 1, upper = 16
        var index = 0
        while index < sorted.count {
            var binCount = 0
            while index < sorted.count && sorted[index] <= upper {
                binCount += 1
                index += 1
            }
            bins.append(Bin(lower: lower, upper: upper, count: binCount))
            lower = upper + 1
            upper *= 2
        }
        histogram = bins
    }
}

/// What `bert-tagger data stats` reports about a corpus.
public struct CorpusStatistics: Sendable, Equatable, Codable {
    public var file: String
    public var sentences: Int
    public var documents: Int
    public var tokens: Int
    /// How the labels read: entities of a BIO-style scheme, or tags (POS and the like); nil without labels.
    public var scoring: Scoring?
    /// Entities per type, extracted in seqeval's default mode; nil without labels or when the labels
    /// are not a BIO-style scheme.
    public var entities: [String: Int]?
    /// Occurrences of every label; nil without labels.
    public var labels: [String: Int]?
    /// Words per sentence.
    public var sentenceWords: LengthDistribution
    /// Tokens per sentence as the model sees them: sub-word pieces plus [CLS] and [SEP]; nil
    /// when no tokenizer was given.
    public var sentenceTokens: LengthDistribution?
    /// Words the tokenizer turns into no piece (fed as [UNK]); nil without a tokenizer.
    public var wordsWithoutPieces: Int?
    /// The maximum sequence length the counts below refer to.
    public var maxLength: Int?
    /// Sentences longer than `maxLength` tokens, which are split into windows.
    public var sentencesOverMaxLength: Int?
    /// Model inputs after splitting long sentences into windows.
    public var windows: Int?

    enum CodingKeys: String, CodingKey {
        case file, sentences, documents, tokens, scoring, entities, labels
        case sentenceWords = "sentence_words"
        case sentenceTokens = "sentence_tokens"
        case wordsWithoutPieces = "words_without_pieces"
        case maxLength = "max_length"
        case sentencesOverMaxLength = "sentences_over_max_length"
        case windows
    }

    /// Statistics of `corpus`; with its encoded sentences, also sub-word figures, and with a
    /// windowing, how many sentences exceed its maximum length and how many windows they make.
    public init(corpus: Corpus, encoded: [EncodedSentence]? = nil, windowing: Windowing? = nil) throws {
        file = corpus.file
        sentences = corpus.sentences.count
        documents = corpus.documentCount
        tokens = corpus.wordCount
        sentenceWords = LengthDistribution(corpus.sentences.map(\.words.count))!
        if corpus.sentences.allSatisfy({ $0.labels != nil }) {
            var labelCounts: [String: Int] = [:]
            for sentence in corpus.sentences {
                for label in sentence.labels! { labelCounts[label, default: 0] += 1 }
            }
            let scoring = Scoring(labels: labelCounts.keys)
            if scoring == .entities {
                var entityCounts: [String: Int] = [:]
                for sentence in corpus.sentences {
                    for entity in SeqEval.entities(in: sentence.labels!, mode: .default) { entityCounts[entity.type, default: 0] += 1 }
                }
                entities = entityCounts
            }
            self.scoring = scoring
            self.labels = labelCounts
        }
        if let encoded {
            sentenceTokens = LengthDistribution(encoded.map { $0.pieceCount + 2 })
            wordsWithoutPieces = encoded.reduce(0) { $0 + $1.emptyWordCount }
            if let windowing {
                maxLength = windowing.maxLength
                sentencesOverMaxLength = encoded.lazy.filter { $0.pieceCount + 2 > windowing.maxLength }.count
                windows = try windowing.windows(of: encoded, corpus: corpus).count
            }
        }
    }
}
