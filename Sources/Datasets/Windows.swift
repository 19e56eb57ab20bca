/// One model input made from a sentence: a run of whole words, of which it predicts some.
///
/// A sentence that fits in the model is one window owning all its words. A longer one becomes
/// several overlapping windows; each word is owned by exactly one of them, the one where it has
/// the most context on both sides (the largest min(pieces before it, pieces after it) in the
/// window, the earliest window on a tie, as BERT's SQuAD code picks the "max context" span).
/// Owned words form one contiguous run per window, in order.
public struct SequenceWindow: Sendable, Equatable, Hashable {
    /// Index of the sentence in its corpus.
    public var sentence: Int
    /// 0-based position of the window among its sentence's windows.
    public var window: Int
    /// The words fed to the model.
    public var words: Range<Int>
    /// The words this window predicts and is trained on; within `words`.
    public var ownedWords: Range<Int>
    /// The pieces of `words` in the sentence's `pieceIDs`.
    public var pieces: Range<Int>

    public init(sentence: Int, window: Int, words: Range<Int>, ownedWords: Range<Int>, pieces: Range<Int>) {
        self.sentence = sentence
        self.window = window
        self.words = words
        self.ownedWords = ownedWords
        self.pieces = pieces
    }

    /// Tokens the model sees: the pieces plus [CLS] and [SEP].
    public var tokenCount: Int { pieces.count + 2 }
}

/// Cuts sentences into windows of at most `maxLength` tokens ([CLS] and [SEP] included).
public struct Windowing: Sendable, Equatable {
    /// Longest sequence the model takes (its `max_position_embeddings`).
    public var maxLength: Int
    /// Most pieces consecutive windows share (HuggingFace's `stride`): the next window starts at
    /// the earliest word from which the rest of the previous window is at most this long.
    public var stride: Int

    /// `stride` defaults to a quarter of `maxLength`, at most 128.
    public init(maxLength: Int = 512, stride: Int? = nil) throws {
        guard maxLength >= 3 else {
            throw DatasetError.invalidOptions("the maximum length \(maxLength) leaves no room for a word between [CLS] and [SEP]; use at least 3.")
        }
        let capacity = maxLength - 2
        let stride = stride ?? min(128, maxLength / 4)
        guard stride >= 0 && stride < capacity else {
            throw DatasetError.invalidOptions("the stride \(stride) must be at least 0 and less than \(capacity), "
                + "the pieces that fit in a window of \(maxLength) tokens; choose a smaller stride.")
        }
        self.maxLength = maxLength
        self.stride = stride
    }

    /// Pieces that fit in one window besides [CLS] and [SEP].
    public var capacity: Int { maxLength - 2 }

    /// The windows of one sentence. A word with more pieces than fit in a window is an error
    /// naming the word and its line in `file`.
    public func windows(of encoded: EncodedSentence, sentence: Sentence, index: Int, file: String) throws -> [SequenceWindow] {
        let wordCount = encoded.wordCount
        let starts = encoded.wordStarts.map(Int.init)
        func pieces(_ words: Range<Int>) -> Int { starts[words.upperBound] - starts[words.lowerBound] }

        if encoded.pieceCount <= capacity {
            return [SequenceWindow(sentence: index, window: 0, words: 0..<wordCount, ownedWords: 0..<wordCount,
                                   pieces: 0..<encoded.pieceCount)]
        }
        for w in 0..<wordCount where pieces(w..<(w + 1)) > capacity {
            throw DatasetError.wordTooLong(file: file, line: sentence.line(ofWord: w), word: sentence.words[w],
                                           pieces: pieces(w..<(w + 1)), maxLength: maxLength)
        }

        var spans: [Range<Int>] = []
        var start = 0
        while true {
            var end = start + 1
            while end < wordCount && pieces(start..<(end + 1)) <= capacity { end += 1 }
            spans.append(start..<end)
            if end == wordCount { break }
            var next = start + 1
            while pieces(next..<end) > stride { next += 1 }
            start = next
        }

        // Owner of each word: the span with the largest min(left, right) context; ties to the earlier.
        var owner = [Int](repeating: -1, count: wordCount)
        var bestScore = [Int](repeating: -1, count: wordCount)
        for (s, span) in spans.enumerated() {
            for w in span {
                let score = min(pieces(span.lowerBound..<w), pieces((w + 1)..<span.upperBound))
                if score > bestScore[w] {
                    bestScore[w] = score
                    owner[w] = s
                }
            }
        }
        var owned = [Range<Int>?](repeating: nil, count: spans.count)
        for w in 0..<wordCount {
            let s = owner[w]
            if let range = owned[s] {
                precondition(range.upperBound == w, "owned words of a window must be contiguous")
                owned[s] = range.lowerBound..<(w + 1)
            } else {
                owned[s] = w..<(w + 1)
            }
        }

        var windows: [SequenceWindow] = []
        for (s, span) in spans.enumerated() {
            guard let ownedWords = owned[s] else { continue }  // a window that predicts nothing is not worth a forward pass
            windows.append(SequenceWindow(sentence: index, window: windows.count, words: span, ownedWords: ownedWords,
                                          pieces: starts[span.lowerBound]..<starts[span.upperBound]))
        }
        return windows
    }

    /// The windows of every sentence, in sentence order.
    public func windows(of encoded: [EncodedSentence], corpus: Corpus) throws -> [SequenceWindow] {
        precondition(encoded.count == corpus.sentences.count, "one encoding per sentence")
        var windows: [SequenceWindow] = []
        windows.reserveCapacity(encoded.count)
        for index in encoded.indices {
            windows += try self.windows(of: encoded[index], sentence: corpus.sentences[index], index: index, file: corpus.file)
        }
        return windows
    }
}
