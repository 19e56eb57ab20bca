/// A token matched verbatim in the raw text before normalization, as `added_tokens` in tokenizer.json
/// (for BERT: `[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`).
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    public var special: Bool
    /// Only match when not preceded or followed by a word character.
    public var singleWord: Bool
    /// Take the whitespace on the left (`lstrip`) or right (`rstrip`) into the match.
    public var stripLeft: Bool
    public var stripRight: Bool

    public init(content: String, id: Int32, special: Bool = true, singleWord: Bool = false,
                stripLeft: Bool = false, stripRight: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.singleWord = singleWord
        self.stripLeft = stripLeft
        self.stripRight = stripRight
    }
}

/// Finds added tokens in raw UTF-8 the way `tokenizers`' AddedVocabulary does: leftmost-longest,
/// non-overlapping matches, then the single_word / lstrip / rstrip adjustments.
struct AddedTokenMatcher: Sendable {
    struct Match { var start: Int; var end: Int; var token: Int }

    let tokens: [AddedToken]
    private let patterns: [[UInt8]]
    /// Pattern indices by first byte, longest first, so a scan position costs one load when nothing starts there.
    private let byFirstByte: [[Int]]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        let patterns = tokens.map { Array($0.content.utf8) }
        var table = [[Int]](repeating: [], count: 256)
        for (i, pattern) in patterns.enumerated() where !pattern.isEmpty { table[Int(pattern[0])].append(i) }
        self.patterns = patterns
        byFirstByte = table.map { indices in indices.sorted { patterns[$0].count > patterns[$1].count } }
    }

    var isEmpty: Bool { tokens.isEmpty }

    func matches(in text: UnsafeBufferPointer<UInt8>) -> [Match] {
        var result: [Match] = []
        var position = 0
        var previousEnd = 0
        let count = text.count
        while position < count {
            let candidates = byFirstByte[Int(text[position])]
            var matched: Int? = nil
            for index in candidates {
                let pattern = patterns[index]
                if pattern.count <= count - position,
                   pattern.withUnsafeBufferPointer({ p in (0..<p.count).allSatisfy { text[position + $0] == p[$0] } }) {
                    matched = index
                    break
                }
            }
            guard let index = matched else {
                position += 1
                continue
            }
            var start = position
            var end = position + patterns[index].count
            position = end
            let token = tokens[index]
            if token.singleWord {
                let boundaryBefore = start == 0 || !Self.endsWithWordCharacter(text, before: start)
                let boundaryAfter = end == count || !Self.startsWithWordCharacter(text, at: end)
                if !boundaryBefore || !boundaryAfter { continue }
            }
            if token.stripLeft {
                start = max(Self.startOfTrailingWhitespace(text, before: start), previousEnd)
            }
            if token.stripRight {
                end = Self.endOfLeadingWhitespace(text, from: end)
                position = max(position, end)
            }
            result.append(Match(start: start, end: end, token: index))
            previousEnd = end
        }
        return result
    }

    // MARK: Scalar helpers over UTF-8

    private static func scalar(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        UTF8Decoding.decode(text, at: i)
    }

    private static func scalarBefore(_ text: UnsafeBufferPointer<UInt8>, _ end: Int) -> (UInt32, Int) {
        var start = end - 1
        while start > 0, text[start] & 0xC0 == 0x80 { start -= 1 }
        return (UTF8Decoding.decode(text, at: start).0, start)
    }

    /// `\w` as the regex crate defines it: alphabetic, marks, decimal digits, connector punctuation, joiners.
    private static func isWordCharacter(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return properties.isAlphabetic || properties.isJoinControl
        }
    }

    private static func isWhitespace(_ value: UInt32) -> Bool {
        ScalarProperties.shared.flags(value).contains(.whitespace)
    }

    private static func endsWithWordCharacter(_ text: UnsafeBufferPointer<UInt8>, before end: Int) -> Bool {
        isWordCharacter(scalarBefore(text, end).0)
    }

    private static func startsWithWordCharacter(_ text: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        isWordCharacter(scalar(text, at: start).0)
    }

    private static func startOfTrailingWhitespace(_ text: UnsafeBufferPointer<UInt8>, before end: Int) -> Int {
        var position = end
        while position > 0 {
            let (value, start) = scalarBefore(text, position)
            if !isWhitespace(value) { break }
            position = start
        }
        return position
    }

    private static func endOfLeadingWhitespace(_ text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var position = start
        while position < text.count {
            let (value, length) = scalar(text, at: position)
            if !isWhitespace(value) { break }
            position += length
        }
        return position
    }
}

enum UTF8Decoding {
    /// The scalar starting at `i` of valid UTF-8, and its length in bytes.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                | UInt32(bytes[i + 3] & 0x3F), 4)
    }

    @inline(__always)
    static func encode(_ scalar: UInt32, into bytes: inout [UInt8]) {
        if scalar < 0x80 {
            bytes.append(UInt8(scalar))
        } else if scalar < 0x800 {
            bytes.append(UInt8(0xC0 | scalar >> 6))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            bytes.append(UInt8(0xE0 | scalar >> 12))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        } else {
            bytes.append(UInt8(0xF0 | scalar >> 18))
            bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
