/// Words of a neighbouring sentence fed beside a window as context: the model sees them, but they
/// are never labelled and never predicted.
public struct ContextSpan: Sendable, Equatable, Hashable {
    /// Index of the neighbouring sentence in its corpus.
    public var sentence: Int
    /// The words of that sentence fed as context: a suffix of it left of a window, a prefix right of one.
    public var words: Range<Int>
    /// The pieces of `words` in that sentence's `pieceIDs`.
    public var pieces: Range<Int>

    public init(sentence: Int, words: Range<Int>, pieces: Range<Int>) {
        self.sentence = sentence
        self.words = words
        self.pieces = pieces
    }
}

/// One model input made from a sentence: a run of whole words, of which it predicts some, with
/// optional context from the neighbouring sentences of its document on either side.
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
    /// Words of earlier sentences fed before `words`, in reading order (the farthest first).
    public var leftContext: [ContextSpan]
    /// Words of later sentences fed after `words`, in reading order (the nearest first).
    public var rightContext: [ContextSpan]

    public init(sentence: Int, window: Int, words: Range<Int>, ownedWords: Range<Int>, pieces: Range<Int>,
                leftContext: [ContextSpan] = [], rightContext: [ContextSpan] = []) {
        self.sentence = sentence
        self.window = window
        self.words = words
        self.ownedWords = ownedWords
        self.pieces = pieces
        self.leftContext = leftContext
        self.rightContext = rightContext
    }

    /// Context pieces fed before and after the window's own words.
    public var leftContextPieceCount: Int { leftContext.reduce(0) { $0 + $1.pieces.count } }
    public var rightContextPieceCount: Int { rightContext.reduce(0) { $0 + $1.pieces.count } }

    /// Tokens the model sees: the pieces and their context plus [CLS] and [SEP].
    public var tokenCount: Int { pieces.count + leftContextPieceCount + rightContextPieceCount + 2 }
}

/// Cuts sentences into windows of at most `maxLength` tokens ([CLS] and [SEP] included), and
/// feeds each with up to `context` sub-words of its neighbours on either side.
///
/// Context comes from the sentences before and after in the same document (never across a
/// `-DOCSTART-` boundary), whole words only, the nearest words first; it may span several
/// sentences when the neighbours are short. It fills only the room the sentence leaves: a sentence
/// that fits takes context on both sides; one that needs several windows takes left context in
/// its first window and right context in its last, each as far as that window has room (windows
/// are cut as without context, so this is usually little). When both sides want more than the
/// room, each gets half and a side that needs less leaves the rest to the other.
public struct Windowing: Sendable, Equatable {
    /// Longest sequence the model takes (its `max_position_embeddings`).
    public var maxLength: Int
    /// Most pieces consecutive windows share (HuggingFace's `stride`): the next window starts at
    /// the earliest word from which the rest of the previous window is at most this long.
    public var stride: Int
    /// Most sub-words of neighbouring sentences fed on each side of a window; 0 feeds sentences alone.
    public var context: Int

    /// `stride` defaults to a quarter of `maxLength`, at most 128.
    public init(maxLength: Int = 512, stride: Int? = nil, context: Int = 0) throws {
        guard maxLength >= 3 else {
            throw DatasetError.invalidOptions("the maximum length \(maxLength) leaves no room for a word between [CLS] and [SEP]; use at least 3.")
        }
        let capacity = maxLength - 2
        let stride = stride ?? min(128, maxLength / 4)
        guard stride >= 0 && stride < capacity else {
            throw DatasetError.invalidOptions("the stride \(stride) must be at least 0 and less than \(capacity), "
                + "the pieces that fit in a window of \(maxLength) tokens; choose a smaller stride.")
        }
        guard context >= 0 else {
            throw DatasetError.invalidOptions("the context \(context) must be at least 0 sub-words (0 feeds every sentence alone).")
        }
        self.maxLength = maxLength
        self.stride = stride
        self.context = context
    }

    /// Pieces that fit in one window besides [CLS] and [SEP].
    public var capacity: Int { maxLength - 2 }

    /// The windows of one sentence, without context (which needs the neighbours: see
    /// `windows(of:corpus:)`). A word with more pieces than fit in a window is an error
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

    /// The windows of every sentence, in sentence order, with context from each sentence's
    /// neighbours in its document when `context` is above 0.
    public func windows(of encoded: [EncodedSentence], corpus: Corpus) throws -> [SequenceWindow] {
        precondition(encoded.count == corpus.sentences.count, "one encoding per sentence")
        var windows: [SequenceWindow] = []
        windows.reserveCapacity(encoded.count)
        for index in encoded.indices {
            var sentenceWindows = try self.windows(of: encoded[index], sentence: corpus.sentences[index], index: index,
                                                   file: corpus.file)
            if context > 0 {
                addContext(to: &sentenceWindows, encoded: encoded, corpus: corpus)
            }
            windows += sentenceWindows
        }
        return windows
    }

    /// Gives the first window left context and the last right context, within the room each leaves.
    private func addContext(to windows: inout [SequenceWindow], encoded: [EncodedSentence], corpus: Corpus) {
        guard let first = windows.first else { return }
        let index = first.sentence
        if windows.count == 1 {
            let room = capacity - first.pieces.count
            let (left, right) = sharedContext(of: index, room: room, encoded: encoded, corpus: corpus)
            windows[0].leftContext = left
            windows[0].rightContext = right
        } else {
            windows[0].leftContext = leftContext(of: index, budget: min(context, capacity - first.pieces.count),
                                                 encoded: encoded, corpus: corpus)
            let last = windows.count - 1
            windows[last].rightContext = rightContext(of: index, budget: min(context, capacity - windows[last].pieces.count),
                                                      encoded: encoded, corpus: corpus)
        }
    }

    /// Context on both sides of a whole sentence within `room` pieces: each side up to `context`;
    /// if together they want more than the room, each gets half and one that needs less leaves the
    /// rest to the other.
    private func sharedContext(of index: Int, room: Int, encoded: [EncodedSentence],
                               corpus: Corpus) -> (left: [ContextSpan], right: [ContextSpan]) {
        func count(_ spans: [ContextSpan]) -> Int { spans.reduce(0) { $0 + $1.pieces.count } }
        let budget = min(context, room)
        let left = leftContext(of: index, budget: budget, encoded: encoded, corpus: corpus)
        let right = rightContext(of: index, budget: budget, encoded: encoded, corpus: corpus)
        let wantLeft = count(left), wantRight = count(right)
        if wantLeft + wantRight <= room { return (left, right) }
        let half = room / 2
        if wantLeft <= half {
            return (left, rightContext(of: index, budget: room - wantLeft, encoded: encoded, corpus: corpus))
        }
        if wantRight <= room - half {
            return (leftContext(of: index, budget: room - wantRight, encoded: encoded, corpus: corpus), right)
        }
        return (leftContext(of: index, budget: half, encoded: encoded, corpus: corpus),
                rightContext(of: index, budget: room - half, encoded: encoded, corpus: corpus))
    }

    /// The last whole words before sentence `index` in its document, at most `budget` pieces,
    /// taken from the nearest word backwards and stopping at the first word that does not fit.
    func leftContext(of index: Int, budget: Int, encoded: [EncodedSentence], corpus: Corpus) -> [ContextSpan] {
        var spans: [ContextSpan] = []
        var remaining = budget
        let document = corpus.sentences[index].document
        var neighbour = index - 1
        while remaining > 0 && neighbour >= 0 && corpus.sentences[neighbour].document == document {
            let sentence = encoded[neighbour]
            var first = sentence.wordCount
            while first > 0 && sentence.pieces(ofWord: first - 1).count <= remaining {
                remaining -= sentence.pieces(ofWord: first - 1).count
                first -= 1
            }
            if first < sentence.wordCount {
                spans.append(ContextSpan(sentence: neighbour, words: first..<sentence.wordCount,
                                         pieces: Int(sentence.wordStarts[first])..<sentence.pieceCount))
            }
            if first > 0 { break }  // a word that does not fit ends the context: no gaps
            neighbour -= 1
        }
        return spans.reversed()
    }

    /// The first whole words after sentence `index` in its document, at most `budget` pieces,
    /// taken from the nearest word onwards and stopping at the first word that does not fit.
    func rightContext(of index: Int, budget: Int, encoded: [EncodedSentence], corpus: Corpus) -> [ContextSpan] {
        var spans: [ContextSpan] = []
        var remaining = budget
        let document = corpus.sentences[index].document
        var neighbour = index + 1
        while remaining > 0 && neighbour < corpus.sentences.count && corpus.sentences[neighbour].document == document {
            let sentence = encoded[neighbour]
            var end = 0
            while end < sentence.wordCount && sentence.pieces(ofWord: end).count <= remaining {
                remaining -= sentence.pieces(ofWord: end).count
                end += 1
            }
            if end > 0 {
                spans.append(ContextSpan(sentence: neighbour, words: 0..<end, pieces: 0..<Int(sentence.wordStarts[end])))
            }
            if end < sentence.wordCount { break }
            neighbour += 1
        }
        return spans
    }
}
