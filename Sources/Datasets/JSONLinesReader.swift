import Foundation
import SeqEval

/// Reads JSON Lines corpora: one sentence a line, `{"tokens": [...], "tags": [...]}`.
///
/// Tags are strings, or integers indexing `labelNames` (as HuggingFace datasets store them,
/// e.g. `ner_tags`). Other keys are ignored and blank lines skipped. A JSON Lines file carries
/// no document boundaries, so all its sentences belong to document 0.
///
/// A sentence's columns are its token, its tag (when tags are read), then one value of every key
/// in `extraKeys` (e.g. `predictions`), so column-based code (writers, `evaluate`) reads either format.
public struct JSONLinesReader: Sendable {
    public var tokensKey: String
    /// Key of the tags, or nil to read words only.
    public var tagsKey: String?
    /// Keys tried, in order, when the first record has no `tagsKey` (e.g. `ner_tags` for HuggingFace
    /// datasets exported with `to_json`); the first one present is used for every record.
    public var alternativeTagsKeys: [String]
    /// When the first record has none of the tag keys, read words only instead of failing (tagging a
    /// corpus keeps gold tags when it has them).
    public var tagsOptional: Bool
    /// Names for integer tags: tag `i` means `labelNames[i]`.
    public var labelNames: [String]?
    /// Per-token string arrays read as further columns after the tag.
    public var extraKeys: [String]
    /// When set, every tag must be a valid tag of this scheme.
    public var scheme: TaggingScheme?

    public init(tokensKey: String = "tokens", tagsKey: String? = "tags", alternativeTagsKeys: [String] = [],
                tagsOptional: Bool = false, labelNames: [String]? = nil, extraKeys: [String] = [],
                scheme: TaggingScheme? = nil) {
        self.tokensKey = tokensKey
        self.tagsKey = tagsKey
        self.alternativeTagsKeys = alternativeTagsKeys
        self.tagsOptional = tagsOptional
        self.labelNames = labelNames
        self.extraKeys = extraKeys
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
        // Decided by the first record: which key holds the tags (nil: words only).
        var chosenTagsKey: String??
        while start < data.endIndex {
            lineNumber += 1
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            defer { start = end + 1 }
            var line = data[start..<end]
            // A byte order mark at the start of the file, or of a file joined to it, is not part of the record.
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) else {
                continue
            }
            let problem = try line.withUnsafeBytes { raw -> (problem: String, fix: String)? in
                let bytes = raw.bindMemory(to: UInt8.self)
                if firstInvalidUTF8Offset(bytes) != nil {
                    throw DatasetError.invalidUTF8(file: file, line: lineNumber)
                }
                // Lines of Unicode spaces are blank, as for `str.isspace`; zero-width characters alone are not.
                var end = bytes.count
                while end > 0 {
                    let length = CoNLLReader.whitespaceLength(endingAt: end, in: bytes, from: 0)
                    if length == 0 { break }
                    end -= length
                }
                if end == 0 { return (problem: "", fix: "") }
                return CoNLLReader.invisibleProblem(bytes, 0..<end, separator: nil)
            }
            if let problem {
                if problem.problem.isEmpty { continue }
                throw DatasetError.invisibleCharacters(file: file, line: lineNumber, problem: problem.problem,
                                                       shown: CoNLLReader.shown(String(decoding: line, as: UTF8.self)), fix: problem.fix)
            }
            let record = try self.record(from: Data(line), file: file, line: lineNumber, first: sentences.isEmpty)
            if chosenTagsKey == nil {
                chosenTagsKey = .some(try tagsKey(of: record, file: file, line: lineNumber))
            }
            sentences.append(try sentence(from: record, tagsKey: chosenTagsKey!, file: file, line: lineNumber))
        }
        guard !sentences.isEmpty else { throw DatasetError.noSentences(file: file) }
        let labelled = (chosenTagsKey ?? nil) != nil
        return Corpus(file: file, sentences: sentences, documentCount: 1,
                      columnCount: (labelled ? 2 : 1) + extraKeys.count)
    }

    /// The tag key of the file, from its first record.
    private func tagsKey(of record: [String: Any], file: String, line: Int) throws -> String? {
        guard let tagsKey else { return nil }
        if let found = ([tagsKey] + alternativeTagsKeys).first(where: { record[$0] != nil }) { return found }
        if tagsOptional { return nil }
        let arrays = record.keys.filter { $0 != tokensKey && record[$0] is [Any] }.sorted()
        let tried = ([tagsKey] + alternativeTagsKeys).map { "\"\($0)\"" }.joined(separator: " or ")
        throw DatasetError.invalidJSON(
            file: file, line: line, key: tagsKey,
            problem: "missing; the record has no \(tried)"
                + (arrays.isEmpty ? "" : " (its per-token arrays: \(arrays.map { "\"\($0)\"" }.joined(separator: ", ")))")
                + "; name the key that holds the tags with --tag-field")
    }

    private func record(from line: Data, file: String, line lineNumber: Int, first: Bool) throws -> [String: Any] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: line) } catch {
            // A first line that is not even meant as JSON is most likely a CoNLL file read as JSON Lines.
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if first, text.hasPrefix("[") {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: nil,
                                               problem: "a JSON array, not one JSON object a line; convert the file with `jq -c '.[]' FILE > FILE.jsonl`")
            }
            if first, !text.hasPrefix("{") {
                throw DatasetError.formatMismatch(file: file, line: lineNumber, readAs: "JSON Lines",
                                                  found: "\"\(text.prefix(40))\", not a JSON object; it looks like CoNLL columns",
                                                  fix: "read it as CoNLL with --input-format conll (or give it a .conll/.txt name)")
            }
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: nil, problem: "not valid JSON")
        }
        guard let record = object as? [String: Any] else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: nil, problem: "not a JSON object")
        }
        return record
    }

    private func sentence(from record: [String: Any], tagsKey: String?, file: String, line lineNumber: Int) throws -> Sentence {
        guard let tokenValue = record[tokensKey] else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tokensKey, problem: "missing; every record needs its tokens")
        }
        guard let words = tokenValue as? [String] else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tokensKey, problem: "expected an array of strings")
        }
        guard !words.isEmpty else {
            throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tokensKey, problem: "empty; a sentence needs at least one token")
        }
        var tags: [String]?
        if let tagsKey {
            guard let tagValue = record[tagsKey] else {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tagsKey, problem: "missing; every record needs one tag per token")
            }
            tags = try self.tags(tagValue, key: tagsKey, file: file, line: lineNumber)
            guard tags!.count == words.count else {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tagsKey,
                                               problem: "has \(tags!.count) tags for \(words.count) tokens; expected one tag per token")
            }
            if let hidden = tags!.first(where: { $0.unicodeScalars.contains(where: CoNLLReader.isInvisible) }) {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: tagsKey,
                                               problem: "the tag \(CoNLLReader.shown(hidden)) holds invisible characters; remove them,"
                                                   + " otherwise it is a label of its own, apart from the one it looks like")
            }
            if let scheme, let bad = tags!.first(where: { !scheme.isValid($0) }) {
                throw DatasetError.invalidTag(file: file, line: lineNumber, tag: bad, scheme: scheme.rawValue)
            }
        }
        if extraKeys.isEmpty {
            return Sentence(words: words, labels: tags, document: 0, line: lineNumber)
        }
        var extras: [[String]] = []
        for key in extraKeys {
            guard let value = record[key] else {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: key, problem: "missing; every record needs one value per token")
            }
            guard let strings = value as? [String] else {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: key, problem: "expected an array of strings")
            }
            guard strings.count == words.count else {
                throw DatasetError.invalidJSON(file: file, line: lineNumber, key: key,
                                               problem: "has \(strings.count) values for \(words.count) tokens; expected one per token")
            }
            extras.append(strings)
        }
        let width = 1 + (tags == nil ? 0 : 1) + extras.count
        var columns: [String] = []
        columns.reserveCapacity(words.count * width)
        for index in words.indices {
            columns.append(words[index])
            if let tags { columns.append(tags[index]) }
            for extra in extras { columns.append(extra[index]) }
        }
        return Sentence(words: words, labels: tags, document: 0, line: lineNumber, columns: columns, columnCount: width)
    }

    private func tags(_ value: Any, key: String, file: String, line: Int) throws -> [String] {
        if let strings = value as? [String] {
            // Names given for integer tags and strings they do not name ("3" for 3): reading them as labels
            // would train on "0", "3", ... without a word.
            if let labelNames, let stray = strings.first(where: { !labelNames.contains($0) }) {
                throw DatasetError.invalidJSON(file: file, line: line, key: key,
                                               problem: "tag \"\(stray)\" is a string that --label-names does not list; --label-names names integer tags "
                                                   + "(3, not \"3\"): write the tags as integers, or leave --label-names out for string tags")
            }
            return strings
        }
        guard let numbers = value as? [NSNumber], numbers.allSatisfy(Self.isInteger) else {
            throw DatasetError.invalidJSON(file: file, line: line, key: key, problem: "expected an array of strings or of integers")
        }
        guard let labelNames else {
            throw DatasetError.invalidJSON(file: file, line: line, key: key,
                                           problem: "integer tags need the label list they index; pass them in id order with --label-names FILE or --label-names O,B-PER,I-PER")
        }
        return try numbers.map { number in
            let index = number.intValue
            guard index >= 0 && index < labelNames.count else {
                throw DatasetError.tagIndexOutOfRange(file: file, line: line, key: key, index: index, labelCount: labelNames.count)
            }
            return labelNames[index]
        }
    }

    /// Whether a JSON number is an integer; JSON `true` also arrives as an NSNumber (type code
    /// "c"), and must not pass for tag 1.
    private static func isInteger(_ number: NSNumber) -> Bool {
        let type = String(cString: number.objCType)
        return type != "c" && type != "B" && Double(number.intValue) == number.doubleValue
    }
}
