import FileIO
import Foundation
import SeqEval

/// Reads CoNLL column files: one token a line, columns separated by spaces or tabs, blank lines
/// between sentences, `-DOCSTART-` lines between documents.
///
/// Columns are separated by tabs when the file's first token line contains a tab (so a column
/// may then hold spaces), otherwise by runs of whitespace. Windows line endings, trailing
/// spaces, a missing final newline and runs of blank lines are accepted. The reader walks the
/// raw bytes once and makes Strings only for the columns, which keeps CoNLL-2003 train (3.3 MB)
/// well under a second.
///
/// Dirty files are read as Flair's `ColumnCorpus` reads them, where that is well defined: whitespace is
/// Unicode's (Python's `str.isspace`), so a line of non-breaking spaces is blank and a non-breaking space
/// separates columns like a space; zero-width characters inside a word stay in it (the tokenizer drops
/// them, as BertTokenizer does). A byte order mark (U+FEFF) at the start of the file or of any line (files
/// joined with `cat`) is not text and is skipped. What a reader would silently misread is an error that
/// shows the line with the invisible characters escaped (`\u{200B}`): a line that looks blank but holds
/// zero-width or control characters, a label holding them, a carriage return inside a line, a line
/// without tabs in a tab-separated file.
public struct CoNLLReader: Sendable {
    /// Column holding the words; negative indices count from the end (-1 is the last column).
    public var tokenColumn: Int
    /// Column holding the labels, or nil to read words only (e.g. text to be tagged).
    public var labelColumn: Int?
    /// When set, every label must be a valid tag of this scheme.
    public var scheme: TaggingScheme?

    public init(tokenColumn: Int = 0, labelColumn: Int? = -1, scheme: TaggingScheme? = nil) {
        self.tokenColumn = tokenColumn
        self.labelColumn = labelColumn
        self.scheme = scheme
    }

    /// Reads the file at `url`.
    public func read(contentsOf url: URL) throws -> Corpus {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DatasetError.unreadable(file: url.path, reason: Self.reason(error, path: url.path))
        }
        return try read(data: data, file: url.path)
    }

    /// Reads CoNLL text held in memory; `file` names it in errors.
    public func read(data: Data, file: String) throws -> Corpus {
        try data.withUnsafeBytes { raw in
            try parse(raw.bindMemory(to: UInt8.self), file: file)
        }
    }

    static func reason(_ error: any Error, path: String? = nil) -> String {
        fileErrorReason(error, path: path)
    }

    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let docStart = Array("-DOCSTART-".utf8)

    private func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String) throws -> Corpus {
        if let bad = firstInvalidUTF8Offset(bytes) {
            let line = 1 + bytes[..<bad].reduce(0) { $0 + ($1 == Self.newline ? 1 : 0) }
            throw DatasetError.invalidUTF8(file: file, line: line)
        }

        var sentences: [Sentence] = []
        var layout: [LayoutItem] = []
        var document = -1
        var separator: ColumnSeparator?
        var columnCount = 0
        var firstTokenLine = 0
        var tokenIndex = 0
        var labelIndex: Int?

        // The sentence being read.
        var words: [String] = []
        var labels: [String] = []
        var columns: [String] = []
        var sentenceLine = 0

        var fields: [Range<Int>] = []
        fields.reserveCapacity(8)

        func finishSentence() {
            guard !words.isEmpty else { return }
            if document < 0 { document = 0 }
            layout.append(.sentence(sentences.count))
            sentences.append(Sentence(words: words, labels: labelIndex == nil ? nil : labels,
                                      document: document, line: sentenceLine,
                                      columns: columns, columnCount: columnCount))
            words.removeAll(keepingCapacity: true)
            labels.removeAll(keepingCapacity: true)
            columns.removeAll(keepingCapacity: true)
        }

        func string(_ range: Range<Int>) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }

        var lineNumber = 0
        var start = 0
        let count = bytes.count
        while start < count {
            lineNumber += 1
            var end = start
            while end < count && bytes[end] != Self.newline { end += 1 }
            let next = end + 1
            defer { start = next }
            // A byte order mark (at the start of the file, or of a file joined to it) is not part of the line.
            let lineStart = start + 3 <= end && bytes[start] == 0xEF && bytes[start + 1] == 0xBB && bytes[start + 2] == 0xBF
                ? start + 3 : start
            start = lineStart
            // Trailing whitespace and the CR of CRLF are not part of the line.
            while end > start {
                let length = Self.whitespaceLength(endingAt: end, in: bytes, from: start)
                if length == 0 { break }
                end -= length
            }
            if let problem = Self.invisibleProblem(bytes, start..<end, separator: separator) {
                throw DatasetError.invisibleCharacters(file: file, line: lineNumber, problem: problem.problem,
                                                       shown: Self.shown(string(start..<end)), fix: problem.fix)
            }
            var first = start
            if separator != .tab {
                while first < end {
                    let length = Self.whitespaceLength(at: first, in: bytes, before: end)
                    if length == 0 { break }
                    first += length
                }
            }

            if first == end {
                finishSentence()
                layout.append(.blankLine)
                continue
            }
            if end - first >= Self.docStart.count
                && Self.docStart.indices.allSatisfy({ bytes[first + $0] == Self.docStart[$0] })
                && (end - first == Self.docStart.count || bytes[first + Self.docStart.count] == Self.space
                    || bytes[first + Self.docStart.count] == Self.tab) {
                finishSentence()
                document += 1
                layout.append(.documentStart(string(start..<end)))
                continue
            }

            if columnCount == 0, let kind = Self.jsonKind(bytes[first..<end]) {
                // Split on spaces, a JSON record makes columns of nonsense that would train as labels.
                throw DatasetError.formatMismatch(file: file, line: lineNumber, readAs: "CoNLL columns",
                                                  found: "a JSON \(kind); it looks like JSON Lines",
                                                  fix: "read it as JSON Lines with --input-format jsonl (or give it a .jsonl name)")
            }
            if separator == nil {
                separator = bytes[first..<end].contains(Self.tab) ? .tab : .whitespace
                if separator == .tab { first = start }
            }
            fields.removeAll(keepingCapacity: true)
            if separator == .tab {
                var fieldStart = first
                for i in first..<end where bytes[i] == Self.tab {
                    fields.append(fieldStart..<i)
                    fieldStart = i + 1
                }
                fields.append(fieldStart..<end)
            } else {
                var i = first
                while i < end {
                    let fieldStart = i
                    while i < end && Self.whitespaceLength(at: i, in: bytes, before: end) == 0 { i += 1 }
                    fields.append(fieldStart..<i)
                    while i < end {
                        let length = Self.whitespaceLength(at: i, in: bytes, before: end)
                        if length == 0 { break }
                        i += length
                    }
                }
            }

            if columnCount == 0 {
                columnCount = fields.count
                firstTokenLine = lineNumber
                tokenIndex = try Corpus.resolve(column: tokenColumn, columnCount: columnCount, file: file,
                                                line: lineNumber, role: "token")
                if let labelColumn {
                    labelIndex = try Corpus.resolve(column: labelColumn, columnCount: columnCount, file: file,
                                                    line: lineNumber, role: "label")
                    if labelIndex == tokenIndex {
                        throw DatasetError.labelColumnIsTokenColumn(file: file, line: lineNumber, column: tokenIndex,
                                                                    columnCount: columnCount)
                    }
                }
            } else if fields.count != columnCount {
                if separator == .tab && fields.count == 1 && columnCount > 1 && bytes[first..<end].contains(Self.space) {
                    throw DatasetError.invisibleCharacters(
                        file: file, line: lineNumber,
                        problem: "the file separates columns with tabs (from line \(firstTokenLine)) but this line has none",
                        shown: Self.shown(string(start..<end)), fix: "Separate its \(columnCount) columns with tabs")
                }
                if bytes[start..<end].contains(where: { $0 >= 0x80 }) {
                    // Non-breaking and other Unicode spaces separate columns: show where they are.
                    throw DatasetError.invisibleCharacters(
                        file: file, line: lineNumber,
                        problem: "found \(fields.count) column\(fields.count == 1 ? "" : "s"), expected \(columnCount) like the first token line (line \(firstTokenLine))",
                        shown: Self.shown(string(start..<end)),
                        fix: "Non-breaking and other Unicode spaces separate columns as spaces do; remove the ones inside a column")
                }
                throw DatasetError.columnCount(file: file, line: lineNumber, found: fields.count,
                                               expected: columnCount, firstTokenLine: firstTokenLine)
            }

            if words.isEmpty { sentenceLine = lineNumber }
            let firstColumn = columns.count
            for field in fields { columns.append(string(field)) }
            words.append(columns[firstColumn + tokenIndex])
            if let labelIndex {
                let label = columns[firstColumn + labelIndex]
                if label.unicodeScalars.contains(where: Self.isInvisible) {
                    throw DatasetError.invisibleCharacters(
                        file: file, line: lineNumber, problem: "the label \(Self.shown(label)) holds invisible characters",
                        shown: Self.shown(string(start..<end)),
                        fix: "Remove them; otherwise it is a label of its own, apart from the one it looks like")
                }
                if let scheme, !scheme.isValid(label) {
                    throw DatasetError.invalidTag(file: file, line: lineNumber, tag: label, scheme: scheme.rawValue)
                }
                labels.append(label)
            }
        }
        finishSentence()

        guard !sentences.isEmpty else { throw DatasetError.noSentences(file: file) }
        return Corpus(file: file, sentences: sentences, documentCount: document + 1, columnCount: columnCount,
                      separator: separator ?? .whitespace, layout: layout)
    }
}

extension CoNLLReader {
    /// The byte length of the whitespace character at `i` (ASCII space, tab, vertical tab, form feed, or a
    /// Unicode space: U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), else 0.
    @inline(__always)
    static func whitespaceLength(at i: Int, in bytes: UnsafeBufferPointer<UInt8>, before end: Int) -> Int {
        let b = bytes[i]
        if b < 0x80 { return b == space || b == tab || b == 0x0B || b == 0x0C ? 1 : 0 }
        if b == 0xC2 { return i + 1 < end && (bytes[i + 1] == 0x85 || bytes[i + 1] == 0xA0) ? 2 : 0 }
        guard b == 0xE1 || b == 0xE2 || b == 0xE3, i + 2 < end else { return 0 }
        return isThreeByteSpace(b, bytes[i + 1], bytes[i + 2]) ? 3 : 0
    }

    /// The byte length of the whitespace character (or the CR of a CRLF) that ends at `end`, else 0.
    static func whitespaceLength(endingAt end: Int, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        let last = bytes[end - 1]
        if last < 0x80 { return last == space || last == tab || last == carriageReturn || last == 0x0B || last == 0x0C ? 1 : 0 }
        if end - 2 >= start, bytes[end - 2] == 0xC2, last == 0x85 || last == 0xA0 { return 2 }
        if end - 3 >= start, isThreeByteSpace(bytes[end - 3], bytes[end - 2], last) { return 3 }
        return 0
    }

    @inline(__always)
    private static func isThreeByteSpace(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Bool {
        switch (a, b) {
        case (0xE1, 0x9A): return c == 0x80                                                        // U+1680
        case (0xE2, 0x80): return (0x80...0x8A).contains(c) || c == 0xA8 || c == 0xA9 || c == 0xAF  // U+2000–200A, 2028, 2029, 202F
        case (0xE2, 0x81): return c == 0x9F                                                        // U+205F
        case (0xE3, 0x80): return c == 0x80                                                        // U+3000
        default: return false
        }
    }

    /// Characters that take no room on screen: format characters (zero-width spaces and joiners, U+FEFF,
    /// direction marks, the soft hyphen) and control characters.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .format, .control: return true
        default: return false
        }
    }

    /// Why a line (without its line end) cannot be read as it looks, with the fix; nil for almost every line.
    /// Only lines with a control or non-ASCII byte are looked at closely.
    static func invisibleProblem(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                                 separator: ColumnSeparator?) -> (problem: String, fix: String)? {
        guard bytes[range].contains(where: { $0 >= 0x80 || ($0 < 0x20 && $0 != tab) || $0 == 0x7F }) else { return nil }
        if bytes[range].contains(carriageReturn) {
            return ("a carriage return (\\r) inside the line; the file mixes line ends",
                    "End every line with \\n or \\r\\n; a lone \\r ends a line only for old Mac editors")
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        let visible = text.unicodeScalars.contains { !isInvisible($0) && !$0.properties.isWhitespace }
        if !visible {
            return ("the line looks blank but holds invisible characters",
                    "Delete them, leaving the line empty if it ends a sentence")
        }
        return nil
    }

    /// `text` quoted, with invisible characters and every space other than U+0020 escaped as in Swift
    /// (`\t`, `\r`, `\u{200B}`), so that what an editor hides can be found.
    static func shown(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar != " " && (isInvisible(scalar) || scalar.properties.isWhitespace) {
                    out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// "object" or "array" when a line is JSON (or starts like a JSON record, `{"`, and ends like one), else nil.
    static func jsonKind(_ line: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        guard let head = line.first, head == UInt8(ascii: "{") || head == UInt8(ascii: "["), let tail = line.last else { return nil }
        if let json = try? JSONSerialization.jsonObject(with: Data(line)) {
            if json is [String: Any] { return "object" }
            if json is [Any] { return "array" }
            return nil
        }
        let startsLikeRecord = line.count > 1 && head == UInt8(ascii: "{") && line[line.startIndex + 1] == UInt8(ascii: "\"")
        return startsLikeRecord && (tail == UInt8(ascii: "}") || tail == UInt8(ascii: "]") || tail == UInt8(ascii: ",")) ? "object" : nil
    }
}

/// Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or nil.
///
/// Rejects what Unicode calls ill-formed: stray continuation bytes, truncated sequences,
/// overlong encodings, surrogates and code points above U+10FFFF.
func firstInvalidUTF8Offset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    let count = bytes.count
    while i < count {
        let lead = bytes[i]
        if lead < 0x80 { i += 1; continue }
        let length: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF  // allowed range of the second byte
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: return i
        }
        guard i + 1 < count, bytes[i + 1] >= lower, bytes[i + 1] <= upper else { return i }
        for k in 2..<length {
            guard i + k < count, bytes[i + k] & 0xC0 == 0x80 else { return i }
        }
        i += length
    }
    return nil
}
