import Foundation
import SeqEval

/// The two corpus formats every command reads.
public enum CorpusFormat: String, Sendable, Codable, CaseIterable {
    /// Column files: one token a line, blank lines between sentences.
    case conll
    /// JSON Lines: one `{"tokens": [...], "tags": [...]}` object a line.
    case jsonl

    /// The format a file's name implies: JSON Lines for `.jsonl`, `.ndjson` and `.json` (HuggingFace's
    /// `to_json` writes JSON Lines), CoNLL otherwise.
    public init(path: String) {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": self = .jsonl
        default: self = .conll
        }
    }
}

/// How to read a corpus in either format: the format (or the file name's), and where words and tags are.
public struct CorpusReading: Sendable, Equatable {
    /// The format; nil takes it from the file's extension (`CorpusFormat(path:)`).
    public var format: CorpusFormat?
    /// CoNLL: the column of the words (negative counts from the end).
    public var tokenColumn: Int
    /// CoNLL: the column of the tags, or nil to keep every column and read words only.
    public var labelColumn: Int?
    /// JSON Lines: the key of the tags; nil tries `tags`, then `ner_tags` (HuggingFace datasets).
    public var tagField: String?
    /// JSON Lines: read tags only when the first record has them.
    public var tagsOptional: Bool
    /// JSON Lines: names of integer tags, tag `i` meaning `labelNames[i]`.
    public var labelNames: [String]?
    /// JSON Lines: per-token arrays read as further columns after the tags.
    public var extraFields: [String]
    /// When set, every tag must be a valid tag of this scheme.
    public var scheme: TaggingScheme?

    public static let defaultTagFields = ["tags", "ner_tags"]

    public init(format: CorpusFormat? = nil, tokenColumn: Int = 0, labelColumn: Int? = -1, tagField: String? = nil,
                tagsOptional: Bool = false, labelNames: [String]? = nil, extraFields: [String] = [],
                scheme: TaggingScheme? = nil) {
        self.format = format
        self.tokenColumn = tokenColumn
        self.labelColumn = labelColumn
        self.tagField = tagField
        self.tagsOptional = tagsOptional
        self.labelNames = labelNames
        self.extraFields = extraFields
        self.scheme = scheme
    }

    /// The format `path` is read in.
    public func format(of path: String) -> CorpusFormat { format ?? CorpusFormat(path: path) }

    /// Whether labels are read at all.
    private var labelled: Bool { labelColumn != nil || tagsOptional }

    /// Reads the file at `path` in its format.
    public func read(_ path: String) throws -> Corpus {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw DatasetError.unreadable(file: path, reason: "it is a directory; give the corpus file inside it")
        }
        switch format(of: path) {
        case .conll:
            try checkJSONLinesOptionsUnused(path)
            return try CoNLLReader(tokenColumn: tokenColumn, labelColumn: labelColumn, scheme: scheme).read(contentsOf: url)
        case .jsonl:
            try checkColumnsUnused(path)
            return try jsonLinesReader.read(contentsOf: url)
        }
    }

    /// JSON Lines has keys, not columns: a column option given for it would be silently ignored.
    private func checkColumnsUnused(_ path: String) throws {
        if tokenColumn != 0 || (labelColumn != nil && labelColumn != -1) {
            throw DatasetError.invalidOptions("\(path): --token-column and --label-column choose CoNLL columns; this file is read as JSON Lines, "
                + "whose tags are chosen by key with --tag-field (e.g. --tag-field pos_tags)")
        }
    }

    /// CoNLL has columns, not keys: a tag field or integer-tag names given for it would be silently ignored
    /// (integer tags in a column would be trained on as the labels "0", "3", ...).
    private func checkJSONLinesOptionsUnused(_ path: String) throws {
        if tagField != nil || labelNames != nil {
            throw DatasetError.invalidOptions("\(path): --tag-field and --label-names apply to JSON Lines; this file is read as CoNLL columns, "
                + "whose tags are chosen with --label-column. Leave those options out, or read the file as JSON Lines with --input-format jsonl.")
        }
    }

    /// Reads JSON Lines or CoNLL text held in memory; `file` names it in errors and gives the format when
    /// `format` is nil.
    public func read(data: Data, file: String) throws -> Corpus {
        switch format(of: file) {
        case .conll:
            try checkJSONLinesOptionsUnused(file)
            return try CoNLLReader(tokenColumn: tokenColumn, labelColumn: labelColumn, scheme: scheme).read(data: data, file: file)
        case .jsonl:
            try checkColumnsUnused(file)
            return try jsonLinesReader.read(data: data, file: file)
        }
    }

    private var jsonLinesReader: JSONLinesReader {
        let fields = tagField.map { [$0] } ?? Self.defaultTagFields
        return JSONLinesReader(tagsKey: labelled ? fields[0] : nil, alternativeTagsKeys: Array(fields.dropFirst()),
                               tagsOptional: tagsOptional, labelNames: labelNames, extraKeys: extraFields, scheme: scheme)
    }
}

/// The label list integer tags index, as `--label-names` gives it: a file, or labels separated by commas.
public enum LabelNames {
    /// Reads `value`: an existing file (a JSON array, `{"labels": [...]}`, a `config.json` with `id2label`,
    /// HuggingFace's `dataset_info.json` with a ClassLabel feature, or one label a line), or else a
    /// comma-separated list.
    public static func parse(_ value: String, tagField: String? = nil) throws -> [String] {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw DatasetError.invalidLabelNames(source: "\"\"", problem: "empty") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: trimmed, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else {
                throw DatasetError.invalidLabelNames(source: trimmed, problem: "a directory, not a file")
            }
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: trimmed)) } catch {
                throw DatasetError.invalidLabelNames(source: trimmed, problem: "cannot read the file (\(CoNLLReader.reason(error)))")
            }
            return try fromFile(data, source: trimmed, tagField: tagField)
        }
        if !trimmed.contains(","), trimmed.contains("/") || trimmed.hasSuffix(".json") || trimmed.hasSuffix(".txt") {
            throw DatasetError.invalidLabelNames(source: trimmed, problem: "no such file")
        }
        let names = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        return try checked(names, source: trimmed)
    }

    /// Reads the labels a `--label-names` file's bytes hold; `source` names the file in errors.
    public static func fromFile(_ data: Data, source: String, tagField: String?) throws -> [String] {
        if let object = try? JSONSerialization.jsonObject(with: data) {
            if let dictionary = object as? [String: Any], let features = dictionary["features"] as? [String: Any] {
                return try fromDatasetFeatures(features, source: source, tagField: tagField)
            }
            do {
                return try checked(LabelSet.decode(data, file: source).labels, source: source)
            } catch let error as DatasetError {
                if case let .invalidLabelFile(_, problem) = error {
                    throw DatasetError.invalidLabelNames(source: source, problem: problem)
                }
                throw error
            }
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError.invalidLabelNames(source: source, problem: "neither JSON nor UTF-8 text")
        }
        let names = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return try checked(names, source: source)
    }

    /// `dataset_info.json`: `features.<field>.feature.names` (a Sequence of ClassLabel).
    static func fromDatasetFeatures(_ features: [String: Any], source: String, tagField: String?) throws -> [String] {
        func names(_ field: String) -> [String]? {
            guard let feature = features[field] as? [String: Any] else { return nil }
            let inner = feature["feature"] as? [String: Any] ?? feature
            return inner["names"] as? [String]
        }
        let candidates = tagField.map { [$0] } ?? CorpusReading.defaultTagFields
        for field in candidates {
            if let found = names(field) { return try checked(found, source: source) }
        }
        let withNames = features.keys.filter { names($0) != nil }.sorted()
        throw DatasetError.invalidLabelNames(
            source: source,
            problem: "no ClassLabel names for \(candidates.map { "\"\($0)\"" }.joined(separator: " or ")) in \"features\""
                + (withNames.isEmpty ? "" : " (fields with names: \(withNames.joined(separator: ", ")); choose one with --tag-field)"))
    }

    static func checked(_ names: [String], source: String) throws -> [String] {
        guard !names.isEmpty else { throw DatasetError.invalidLabelNames(source: source, problem: "no labels in it") }
        if let index = names.firstIndex(of: "") {
            throw DatasetError.invalidLabelNames(source: source, problem: "label \(index) is empty")
        }
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw DatasetError.invalidLabelNames(source: source, problem: "\"\(name)\" appears twice; each integer tag needs its own label")
        }
        return names
    }
}
