import Foundation
import SeqEval

/// Reads JSON Lines corpora: one sentence a line, `{"tokens": [...], "tags": [...]}`.
///
/// Tags are strings, or integers indexing `labelNames` (as HuggingFace datasets store them,
/// e.g. `ner_tags`). Other keys are ignored and blank lines skipped. A JSON Lines file carries
/// no document boundaries, so all its sentences belong to document 0.
public struct JSONLinesReader: Sendable {
    public var tokensKey: String
    /// Key of the tags, or nil to read words only.
    public var tagsKey: String?
    /// Names for integer tags: tag `i` means `labelNames[i]`.
    public var labelNames: [String]?
    /// When set, every tag must be a valid tag of this scheme.
    public var scheme: TaggingScheme?

    public init(tokensKey: String = "tokens", tagsKey: String? = "tags", labelNames: [String]? = nil,
                scheme: TaggingScheme? = nil) {
        self.tokensKey = tokensKey
        self.tagsKey = tagsKey
        self.labelNames = labelNames
        self.scheme = scheme
    }

    public func read(contentsOf url: URL) throws -> Corpus {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError.unreadable(file: url.path, reason: CoNLLReader.reason(error, path: url.path))
        }
        return try read(data: data, file: url.path)
    }

    public func read(data: Data, file: String) throws -> Corpus {
        var sentences: [Sentence] = []
        var lineNumber = 0
        var start = data.startIndex
        while start < data.endIndex {
            lineNumber += 1
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            defer { start = end + 1 }
            let line = data[start..<end]
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) else {
                continue
            }
            try line.withUnsafeBytes { raw in
                if firstInvalidUTF8Offset(raw.bindMemory(to: UInt8.self)) != nil {
                    throw DatasetError.invalidUTF8(file: file, line: lineNumber)
                }
            }
            sentences.append(try sentence(from: Data(line), file: file, line: lineNumber))
        }
        guard !sentences.isEmpty else { throw DatasetError.noSentences(file: file) }
        let labelled = tagsKey != nil
        return Corpus(file: file, sentences: sentences, documentCount: 1, columnCount: labelled ? 2 : 1)
    }

    private func sentence(from line: Data, file: String, line lineNumber: Int) throws -> Sentence {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: line) } catch {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: nil, problem: "not valid JSON")
        }
        guard let record = object as? [String: Any] else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: nil, problem: "not a JSON object")
        }
        guard let tokenValue = record[tokensKey] else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tokensKey, problem: "missing; every record needs its tokens")
        }
        guard let words = tokenValue as? [String] else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tokensKey, problem: "expected an array of strings")
        }
        guard !words.isEmpty else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tokensKey, problem: "empty; a sentence needs at least one token")
        }
        guard let tagsKey else {
            return Sentence(words: words, document: 0, line: lineNumber)
        }
        guard let tagValue = record[tagsKey] else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tagsKey, problem: "missing; every record needs one tag per token")
        }
        let tags: [String]
        if let strings = tagValue as? [String] {
            tags = strings
        } else if let numbers = tagValue as? [NSNumber], numbers.allSatisfy(Self.isInteger) {
            guard let labelNames else {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tagsKey,
                                               problem: "integer tags need the label list they index; pass a labels file")
            }
            tags = try numbers.map { number in
                let index = number.intValue
                guard index >= 0 && index < labelNames.count else {
                    throw DatasetError.tagIndexOutOfRange(file: file, line: lineNumber, index: index, labelCount: labelNames.count)
                }
                return labelNames[index]
            }
        } else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tagsKey, problem: "expected an array of strings or of integers")
        }
        guard tags.count == words.count else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tagsKey,
                                           problem: "has \(tags.count) tags for \(words.count) tokens; expected one tag per token")
        }
        if let scheme, let bad = tags.first(where: { !scheme.isValid($0) }) {
            throw DatasetError.invalidTag(file: file, line: lineNumber, tag: bad, scheme: scheme.rawValue)
        }
        return Sentence(words: words, labels: tags, document: 0, line: lineNumber)
    }

    /// Whether a JSON number is an integer; JSON `true` also arrives as an NSNumber (type code
    /// "c"), and must not pass for tag 1.
    private static func isInteger(_ number: NSNumber) -> Bool {
        let type = String(cString: number.objCType)
        return type != "c" && type != "B" && Double(number.intValue) == number.doubleValue
    }
}
