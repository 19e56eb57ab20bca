/// One tokenized input, as HuggingFace's `Encoding`: parallel arrays, one entry per token.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int32]
    public var tokens: [String]
    /// Unicode-scalar offsets into the input (text mode) or into the word (words mode), counted as
    /// Python indexes a `str`; special tokens get `0..<0`.
    public var offsets: [Range<Int>]
    /// `nil` for special tokens; the word's index in words mode; in text mode the index of the
    /// pre-tokenized word (added tokens such as `[MASK]` count as words), as HF's `word_ids()`.
    public var wordIDs: [Int?]

    public init(ids: [Int32] = [], tokens: [String] = [], offsets: [Range<Int>] = [], wordIDs: [Int?] = []) {
        self.ids = ids
        self.tokens = tokens
        self.offsets = offsets
        self.wordIDs = wordIDs
    }

    public var count: Int { ids.count }

    mutating func reserveCapacity(_ n: Int) {
        ids.reserveCapacity(n)
        tokens.reserveCapacity(n)
        offsets.reserveCapacity(n)
        wordIDs.reserveCapacity(n)
    }

    mutating func append(id: Int32, token: String, offsets range: Range<Int>, wordID: Int?) {
        ids.append(id)
        tokens.append(token)
        offsets.append(range)
        wordIDs.append(wordID)
    }

    mutating func truncate(to n: Int) {
        ids.removeLast(ids.count - n)
        tokens.removeLast(tokens.count - n)
        offsets.removeLast(offsets.count - n)
        wordIDs.removeLast(wordIDs.count - n)
    }
}
