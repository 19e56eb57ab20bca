import FileIO
import Foundation
import SeqEval

/// Reads CoNLL column files: one token a line, columns separated by spaces or tabs, blank lines
/// between sentences, `-DOCSTART-` lines between documents.
///
/// Columns are separated by tabs when the file's first token line contains a tab (so a column
/// may then hold spaces), otherwise by runs of spaces or tabs. Windows line endings, trailing
/// spaces, a missing final newline and runs of blank lines are accepted. The reader walks the
/// raw bytes once and makes Strings only for the columns, which keeps CoNLL-2003 train (3.3 MB)
/// well under a second.
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
        // A byte order mark some editors write is not part of the first token.
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let count = bytes.count
        while start < count {
            lineNumber += 1
            var end = start
            while end < count && bytes[end] != Self.newline { end += 1 }
            let next = end + 1
            // Trailing spaces, tabs and the CR of CRLF are not part of the line.
            while end > start && (bytes[end - 1] == Self.space || bytes[end - 1] == Self.tab || bytes[end - 1] == Self.carriageReturn) {
                end -= 1
            }
            var first = start
            if separator != .tab {
                while first < end && (bytes[first] == Self.space || bytes[first] == Self.tab) { first += 1 }
            }
            defer { start = next }

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
                    while i < end && bytes[i] != Self.space && bytes[i] != Self.tab { i += 1 }
                    fields.append(fieldStart..<i)
                    while i < end && (bytes[i] == Self.space || bytes[i] == Self.tab) { i += 1 }
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
                throw DatasetError.columnCount(file: file, line: lineNumber, found: fields.count,
                                               expected: columnCount, firstTokenLine: firstTokenLine)
            }

            if words.isEmpty { sentenceLine = lineNumber }
            let firstColumn = columns.count
            for field in fields { columns.append(string(field)) }
            words.append(columns[firstColumn + tokenIndex])
            if let labelIndex {
                let label = columns[firstColumn + labelIndex]
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
