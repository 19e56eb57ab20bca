import Datasets
import FileIO
import Foundation
import SeqEval
import StrictJSON

/// How the label of a word is read from the scores of its sub-words, as transformers' token-classification
/// pipeline names the strategies.
public enum Aggregation: String, CaseIterable, Sendable, Codable {
    /// The first sub-word's scores (what training labels and evaluates).
    case first
    /// The mean of the sub-words' score vectors.
    case average
    /// The scores of the sub-word whose best score is highest.
    case max
}

/// How word labels are chosen from the words' scores.
public enum Decoding: String, CaseIterable, Sendable, Codable {
    /// The well-formed label sequence (under the label scheme) with the largest summed log-probability.
    case viterbi
    /// Each word's most probable label on its own; the sequence may be ill-formed (`I-PER` after `O`).
    case argmax
}

/// What a model needs at tagging time, saved beside it by `train` (`tagging.json`) so that it tags as it was
/// trained and evaluated. A directory without the file (one saved by transformers, say) gets the defaults.
public struct TaggingSettings: Sendable, Equatable {
    public static let fileName = "tagging.json"

    /// Most sub-words of the neighbouring sentences of a document fed on each side of a sentence; 0 feeds
    /// every sentence alone. Raw text is one document per text, so this applies to pre-split documents.
    public var context = 0
    /// Longest model input in sub-words, [CLS] and [SEP] included; nil: the model's maximum.
    public var maxLength: Int?
    /// Sub-words shared by neighbouring windows of an over-long input; nil: a quarter of the length, at most 128.
    public var stride: Int?
    public var decoding = Decoding.viterbi
    public var aggregation = Aggregation.first
    /// The scheme of the labels; nil: inferred from the label set (see `TaggingScheme.inferred(labels:)`).
    public var scheme: TaggingScheme?

    public init(context: Int = 0, maxLength: Int? = nil, stride: Int? = nil, decoding: Decoding = .viterbi,
                aggregation: Aggregation = .first, scheme: TaggingScheme? = nil) {
        self.context = context
        self.maxLength = maxLength
        self.stride = stride
        self.decoding = decoding
        self.aggregation = aggregation
        self.scheme = scheme
    }

    private enum Key: String, CaseIterable {
        case context, maxLength = "max_length", stride, decoding, aggregation, scheme
    }

    /// The settings saved in `directory`, or the defaults when it has no settings file.
    public static func load(from directory: URL) throws -> TaggingSettings {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return TaggingSettings() }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TaggerError.invalidSettings(file: url.path, key: nil, problem: "unreadable (\(fileErrorReason(error, path: url.path)))")
        }
        return try decode(Array(data), file: url.path)
    }

    /// Reads a `tagging.json`'s bytes; `file` names them in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws -> TaggingSettings {
        func fail(_ key: String?, _ problem: String) -> TaggerError { .invalidSettings(file: file, key: key, problem: problem) }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch let error as JSONParseError {
            throw fail(nil, "not valid JSON (\(error))")
        }
        guard case let .object(pairs) = json else { throw fail(nil, "expected a JSON object, found \(json.kindName)") }
        var settings = TaggingSettings()
        var seen = Set<String>()
        for (name, value) in pairs {
            guard let key = Key(rawValue: name) else {
                throw fail(name, "unknown key; the keys are \(Key.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw fail(name, "appears twice") }
            func integer(atLeast minimum: Int, nullable: Bool) throws -> Int? {
                if nullable && value.isNull { return nil }
                guard let number = value.exactInteger, number >= minimum else {
                    throw fail(name, "expected an integer of at least \(minimum)\(nullable ? " or null" : ""), found \(value.kindName)"
                               + (value.doubleValue.map { " \($0)" } ?? ""))
                }
                return number
            }
            func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws -> T where T.RawValue == String {
                guard case let .string(text) = value, let choice = T(rawValue: text) else {
                    throw fail(name, "expected one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), found \(describe(value))")
                }
                return choice
            }
            switch key {
            case .context: settings.context = try integer(atLeast: 0, nullable: false)!
            case .maxLength: settings.maxLength = try integer(atLeast: 3, nullable: true)
            case .stride: settings.stride = try integer(atLeast: 0, nullable: true)
            case .decoding: settings.decoding = try choice(Decoding.self)
            case .aggregation: settings.aggregation = try choice(Aggregation.self)
            case .scheme: settings.scheme = value.isNull ? nil : try choice(TaggingScheme.self)
            }
        }
        return settings
    }

    private static func describe(_ value: JSON) -> String {
        if case let .string(text) = value { return "\"\(text)\"" }
        return value.kindName
    }

    /// Writes the settings to `directory` atomically.
    public func save(in directory: URL) throws {
        try writeAtomically(try encoded(), to: directory.appendingPathComponent(Self.fileName))
    }

    /// The content of the settings file.
    public func encoded() throws -> Data {
        var object: [String: Any] = [
            Key.context.rawValue: context,
            Key.decoding.rawValue: decoding.rawValue,
            Key.aggregation.rawValue: aggregation.rawValue,
        ]
        object[Key.maxLength.rawValue] = maxLength ?? NSNull()
        object[Key.stride.rawValue] = stride ?? NSNull()
        object[Key.scheme.rawValue] = scheme?.rawValue ?? NSNull()
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return data + Data("\n".utf8)
    }
}
