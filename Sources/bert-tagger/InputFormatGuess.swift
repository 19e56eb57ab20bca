import Foundation

/// How `predict` tells a CoNLL corpus from raw text in a file whose name does not say: CoNLL-2003's files end
/// in `.txt`, and so do most raw texts.
enum InputFormatGuess {
    /// Names that only CoNLL-style corpora take.
    static let conllExtensions: Set<String> = ["conll", "conllu", "conllx", "conll03", "iob", "iob1", "iob2", "bio", "bioes", "tsv"]

    /// Whether `data` reads as CoNLL: it opens with a `-DOCSTART-` line, or its first block of lines (up to the
    /// first blank line) has at least two lines that are one word each, or that each end in an entity tag
    /// (`O`, `B-PER`, `I-LOC`, …) or hold a tab. Anything else is raw text: lines of words ending in a word.
    static func looksLikeCoNLL(_ data: Data) -> Bool {
        let head = String(decoding: data.prefix(1 << 16), as: UTF8.self)
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        if data.count > 1 << 16 { lines.removeLast() }  // possibly cut short
        guard let first = lines.firstIndex(where: { !$0.allSatisfy(\.isWhitespace) }) else { return false }
        if lines[first].hasPrefix("-DOCSTART-") { return true }
        let block = lines[first...].prefix { !$0.allSatisfy(\.isWhitespace) }.prefix(50)
        guard block.count >= 2 else { return false }
        let columns = block.map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }
        if columns.allSatisfy({ $0.count == 1 }) { return true }
        if block.allSatisfy({ $0.contains("\t") }) { return true }
        return columns.allSatisfy { line in line.count >= 2 && isEntityTag(line.last!) }
    }

    /// `O`, or a one- or two-letter prefix, a dash and a type: `B-PER`, `I-ORG`, `S-LOC`, `L-MISC`.
    static func isEntityTag(_ field: Substring) -> Bool {
        if field == "O" { return true }
        guard let dash = field.firstIndex(of: "-") else { return false }
        let prefix = field[..<dash]
        return (1...2).contains(prefix.count) && prefix.allSatisfy(\.isUppercase) && field.index(after: dash) < field.endIndex
    }
}
