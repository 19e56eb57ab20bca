/// A small seeded generator (SplitMix64, Steele et al. 2014): the same seed gives the same
/// numbers on every platform and Swift version, which `SystemRandomNumberGenerator` does not.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable, Codable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound by rejection, so the result does not depend on how the
    /// standard library maps random bits to ranges.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0)
        let bound = UInt64(bound)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let value = next()
            if value < limit { return Int(value % bound) }
        }
    }

    /// Fisher–Yates shuffle driven only by this generator.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, next(below: i + 1))
        }
    }
}

/// In which order sequences are grouped into batches and batches are visited.
public enum BatchOrder: Sendable, Equatable {
    /// Sequences sorted by length (ties in corpus order), batches in that order: for evaluation,
    /// where the order does not matter and the same input should always give the same batches.
    case lengthSorted
    /// Sequences in random order, each batch filled from that order: every batch mixes lengths like
    /// a random sample of the corpus (packed batches waste nothing on mixed lengths). `epoch` is
    /// mixed into the seed so every epoch differs while (seed, epoch) always gives the same batches.
    case shuffled(seed: UInt64, epoch: Int)
    /// Sequences of equal length in random order, batches filled in length order, then batches in
    /// random order: each batch holds sequences of about one length.
    case lengthGrouped(seed: UInt64, epoch: Int)
}

/// Groups sequences into batches by a token budget.
///
/// Sequences are taken in the order's sequence (random, or sorted by length so that each batch
/// holds sequences of about one length) and batches filled greedily while their real tokens (no
/// padding: batches are packed) stay within `maxTokens` and their number within `maxSequences`.
public struct BatchPlanner: Sendable, Equatable {
    public var maxTokens: Int
    public var maxSequences: Int?

    public init(maxTokens: Int, maxSequences: Int? = nil) throws {
        guard maxTokens > 0 else {
            throw DatasetError.invalidOptions("the batch token budget must be positive, not \(maxTokens).")
        }
        if let maxSequences, maxSequences <= 0 {
            throw DatasetError.invalidOptions("the number of sequences per batch must be positive, not \(maxSequences).")
        }
        self.maxTokens = maxTokens
        self.maxSequences = maxSequences
    }

    /// Batches of indices into `lengths` (each sequence's token count); every index appears in
    /// exactly one batch. A sequence longer than the budget is an error.
    public func plan(lengths: [Int], order: BatchOrder) throws -> [[Int]] {
        if let longest = lengths.max(), longest > maxTokens {
            throw DatasetError.sequenceExceedsBudget(tokens: longest, maxTokens: maxTokens)
        }
        var generator: SplitMix64?
        var indices = Array(lengths.indices)
        switch order {
        case .lengthSorted:
            indices = Self.stableSortedByLength(indices, lengths)
        case let .shuffled(seed, epoch):
            var random = Self.generator(seed: seed, epoch: epoch)
            random.shuffle(&indices)
        case let .lengthGrouped(seed, epoch):
            generator = Self.generator(seed: seed, epoch: epoch)
            generator!.shuffle(&indices)
            // A stable sort keeps the shuffled order among sequences of one length.
            indices = Self.stableSortedByLength(indices, lengths)
        }

        var batches: [[Int]] = []
        var current: [Int] = []
        var tokens = 0
        for index in indices {
            let full = tokens + lengths[index] > maxTokens || current.count == (maxSequences ?? Int.max)
            if full && !current.isEmpty {
                batches.append(current)
                current = []
                tokens = 0
            }
            current.append(index)
            tokens += lengths[index]
        }
        if !current.isEmpty { batches.append(current) }
        if generator != nil { generator!.shuffle(&batches) }
        return batches
    }

    private static func generator(seed: UInt64, epoch: Int) -> SplitMix64 {
        // Two SplitMix64 steps decorrelate nearby (seed, epoch) pairs.
        var mixer = SplitMix64(seed: seed ^ (UInt64(bitPattern: Int64(epoch)) &* 0xD1B5_4A32_D192_ED03))
        _ = mixer.next()
        return SplitMix64(seed: mixer.next())
    }

    private static func stableSortedByLength(_ indices: [Int], _ lengths: [Int]) -> [Int] {
        indices.enumerated()
            .sorted { a, b in
                let la = lengths[a.element], lb = lengths[b.element]
                return la != lb ? la < lb : a.offset < b.offset
            }
            .map(\.element)
    }
}

/// Where the prediction for one word comes from: the first piece of the word in the window
/// that owns it.
public struct WordToken: Sendable, Equatable {
    public var sentence: Int
    public var word: Int
    /// Index of the token in the batch's packed layout.
    public var token: Int
}

/// One packed sequence of a batch and how its tokens map back to words.
public struct PackedSequence: Sendable, Equatable {
    public var sentence: Int
    public var window: Int
    /// [n] per token of the sequence ([CLS] … [SEP]): the word of this sentence it belongs to, nil
    /// for specials and for context from neighbouring sentences.
    public var wordIndices: [Int?]
    /// The words this sequence predicts.
    public var ownedWords: Range<Int>
}

/// Sequences laid end to end without padding, the layout the engine consumes.
public struct PackedBatch: Sendable, Equatable {
    /// [T] all sequences end to end, each [CLS] … [SEP].
    public var inputIDs: [Int32]
    /// [T] 0-based position within each sequence.
    public var positionIDs: [Int32]
    /// [B+1] sequence b is tokens `sequenceOffsets[b] ..< sequenceOffsets[b+1]`.
    public var sequenceOffsets: [Int32]
    /// [T] label id, or -100 where not scored (specials, continuation pieces, words another
    /// window owns, context from neighbouring sentences, or everything when the corpus has no labels).
    public var labels: [Int32]
    /// [B] per sequence: sentence, window and the word of every token.
    public var sequences: [PackedSequence]

    public var tokenCount: Int { inputIDs.count }
    public var sequenceCount: Int { sequences.count }
    /// Length of the longest sequence (what a padded layout would need per row).
    public var maxSequenceLength: Int {
        zip(sequenceOffsets.dropFirst(), sequenceOffsets).map { Int($0 - $1) }.max() ?? 0
    }

    /// Packs `windows` of `encoded` sentences.
    public init(windows: [SequenceWindow], encoded: [EncodedSentence], clsID: Int32, sepID: Int32) {
        let total = windows.reduce(0) { $0 + $1.tokenCount }
        inputIDs = []; inputIDs.reserveCapacity(total)
        positionIDs = []; positionIDs.reserveCapacity(total)
        labels = []; labels.reserveCapacity(total)
        sequenceOffsets = [0]; sequenceOffsets.reserveCapacity(windows.count + 1)
        sequences = []; sequences.reserveCapacity(windows.count)

        for window in windows {
            let sentence = encoded[window.sentence]
            var wordIndices: [Int?] = [nil]
            wordIndices.reserveCapacity(window.tokenCount)
            inputIDs.append(clsID)
            labels.append(ignoredLabelID)
            appendContext(window.leftContext, encoded: encoded, wordIndices: &wordIndices)
            for w in window.words {
                let pieces = sentence.pieces(ofWord: w)
                inputIDs += sentence.pieceIDs[pieces]
                wordIndices += repeatElement(Optional(w), count: pieces.count)
                if let pieceLabels = sentence.pieceLabels, window.ownedWords.contains(w) {
                    labels += pieceLabels[pieces]
                } else {
                    labels += repeatElement(ignoredLabelID, count: pieces.count)
                }
            }
            appendContext(window.rightContext, encoded: encoded, wordIndices: &wordIndices)
            inputIDs.append(sepID)
            labels.append(ignoredLabelID)
            wordIndices.append(nil)
            positionIDs += (0..<Int32(wordIndices.count))
            sequenceOffsets.append(Int32(inputIDs.count))
            sequences.append(PackedSequence(sentence: window.sentence, window: window.window,
                                            wordIndices: wordIndices, ownedWords: window.ownedWords))
        }
    }

    /// Feeds the pieces of neighbouring sentences: seen by the model, never scored or predicted.
    private mutating func appendContext(_ spans: [ContextSpan], encoded: [EncodedSentence], wordIndices: inout [Int?]) {
        for span in spans {
            inputIDs += encoded[span.sentence].pieceIDs[span.pieces]
            labels += repeatElement(ignoredLabelID, count: span.pieces.count)
            wordIndices += repeatElement(nil, count: span.pieces.count)
        }
    }

    /// The token that predicts each owned word: the word's first piece.
    public var wordTokens: [WordToken] {
        var result: [WordToken] = []
        for (b, sequence) in sequences.enumerated() {
            let offset = Int(sequenceOffsets[b])
            var previous: Int?
            for (t, word) in sequence.wordIndices.enumerated() {
                defer { previous = word }
                guard let word, word != previous, sequence.ownedWords.contains(word) else { continue }
                result.append(WordToken(sentence: sequence.sentence, word: word, token: offset + t))
            }
        }
        return result
    }
}
