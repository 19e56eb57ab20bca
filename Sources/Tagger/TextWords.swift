import Datasets
import Tokenizer

/// Raw text cut into words as BERT's pre-tokenizer cuts it (whitespace dropped, each punctuation character and
/// each CJK ideograph a word of its own, added tokens such as `[MASK]` kept whole), with the word-pieces of
/// every word and its span in the text.
///
/// Spans count Unicode scalars, as Python indexes a `str`. A span covers whole user-perceived characters:
/// a combining mark, variation selector or zero-width joiner that the normalizer strips stays with the word it
/// is attached to, so slicing the text by a span never cuts a character in two.
struct TextWords {
    let scalars: [Unicode.Scalar]
    /// [W] each word's span in `scalars`, in order, not overlapping.
    let spans: [Range<Int>]
    /// The word-pieces, grouped by word exactly as the tokenizer splits the whole text.
    let encoded: EncodedSentence

    init(_ text: String, tokenizer: BertTokenizer) {
        scalars = Array(text.unicodeScalars)
        let encoding = tokenizer.encode(text, addSpecialTokens: false)
        var spans: [Range<Int>] = []
        var wordStarts: [Int32] = [0]
        var currentWord: Int?
        for (piece, word) in encoding.wordIDs.enumerated() {
            let offsets = encoding.offsets[piece]
            if word != currentWord || spans.isEmpty {
                if !spans.isEmpty { wordStarts.append(Int32(piece)) }
                spans.append(offsets)
                currentWord = word
            } else {
                let span = spans[spans.count - 1]
                spans[spans.count - 1] = min(span.lowerBound, offsets.lowerBound)..<max(span.upperBound, offsets.upperBound)
            }
        }
        if !spans.isEmpty { wordStarts.append(Int32(encoding.count)) }
        encoded = EncodedSentence(pieceIDs: encoding.ids, wordStarts: wordStarts)
        self.spans = Self.wholeCharacters(spans, text: text, scalarCount: scalars.count)
    }

    /// Widens every span to the boundaries of the characters (extended grapheme clusters) it touches, without
    /// reaching into a neighbouring word.
    static func wholeCharacters(_ spans: [Range<Int>], text: String, scalarCount: Int) -> [Range<Int>] {
        guard !spans.isEmpty else { return [] }
        var boundaries = [0]
        boundaries.reserveCapacity(scalarCount + 1)
        var offset = 0
        for character in text {
            offset += character.unicodeScalars.count
            boundaries.append(offset)
        }
        /// The last boundary at or before `position`, and the first at or after it.
        func floor(_ position: Int) -> Int {
            var low = 0, high = boundaries.count - 1
            while low < high {
                let mid = (low + high + 1) / 2
                if boundaries[mid] <= position { low = mid } else { high = mid - 1 }
            }
            return boundaries[low]
        }
        func ceiling(_ position: Int) -> Int {
            var low = 0, high = boundaries.count - 1
            while low < high {
                let mid = (low + high) / 2
                if boundaries[mid] >= position { high = mid } else { low = mid + 1 }
            }
            return boundaries[low]
        }
        var widened: [Range<Int>] = []
        widened.reserveCapacity(spans.count)
        var previousEnd = 0
        for (index, span) in spans.enumerated() {
            let nextStart = index + 1 < spans.count ? spans[index + 1].lowerBound : scalarCount
            let start = Swift.max(floor(span.lowerBound), previousEnd)
            let end = Swift.max(start, Swift.min(ceiling(span.upperBound), nextStart))
            widened.append(start..<end)
            previousEnd = end
        }
        return widened
    }

    /// The text of span `range`.
    func text(_ range: Range<Int>) -> String {
        var string = String.UnicodeScalarView()
        string.append(contentsOf: scalars[range])
        return String(string)
    }
}
