import FileIO
import Foundation

/// The labels a model predicts, each with a fixed integer id (its position).
///
/// Built from training data, the order is stable and independent of the order labels are met:
/// `O` first (when present), then labels grouped by entity type in Unicode code-point order of
/// the type, and within a type by prefix in the order B, I, E, S, L, U. A label without one of
/// those prefixes (a POS tag such as `NNP`) is its own type and sorts before prefixed labels of
/// the same name. So CoNLL-2003 NER gives O, B-LOC, I-LOC, B-MISC, I-MISC, B-ORG, I-ORG, B-PER,
/// I-PER. The type is everything after the first hyphen, so `B-creative-work` has type
/// `creative-work`.
public struct LabelSet: Sendable, Equatable {
    /// id → label.
    public let labels: [String]
    private let ids: [String: Int32]
    /// id → id of the label continuation pieces of a word get when every sub-word is labelled.
    public let continuationIDs: [Int32]

    /// A label set in exactly the given order (e.g. loaded from a model's config).
    public init(_ labels: [String]) throws {
        var ids: [String: Int32] = [:]
        for (index, label) in labels.enumerated() {
            guard ids.updateValue(Int32(index), forKey: label) == nil else {
                throw DatasetError.invalidOptions("label \"\(label)\" appears twice in the label list; each label needs one id.")
            }
        }
        self.labels = labels
        self.ids = ids
        continuationIDs = labels.indices.map { index in
            ids[Self.continuationLabel(of: labels[index])] ?? Int32(index)
        }
    }

    /// The labels occurring in `sequences`, in the stable order described on the type.
    ///
    /// With `includingContinuations`, the label every sub-word continuation would get
    /// (`I-PER` for a `B-PER` or `S-PER` word) is added even if the data never uses it, so that
    /// labelling every sub-word never meets an unknown label.
    public init(collecting sequences: [[String]], includingContinuations: Bool = false) {
        var seen = Set<String>()
        for sequence in sequences { seen.formUnion(sequence) }
        if includingContinuations {
            for label in Array(seen) { seen.insert(Self.continuationLabel(of: label)) }
        }
        // A set's elements are distinct, so the only error `init(_:)` can throw cannot happen.
        try! self.init(Self.canonicalOrder(seen))
    }

    /// The labels of a corpus's sentences (which must have been read with a label column).
    public init(collecting corpus: Corpus, includingContinuations: Bool = false) throws {
        self.init(collecting: try corpus.labelSequences(), includingContinuations: includingContinuations)
    }

    public var count: Int { labels.count }

    /// id → label, as HuggingFace's `config.id2label`.
    public var id2label: [Int: String] {
        Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.offset, $0.element) })
    }

    /// label → id, as HuggingFace's `config.label2id`.
    public var label2id: [String: Int] { ids.mapValues(Int.init) }

    /// The id of `label`, or nil if the set does not hold it.
    public func id(of label: String) -> Int32? { ids[label] }

    /// The id of `label`, or an error naming the label and where it was seen.
    public func id(of label: String, file: String, line: Int) throws -> Int32 {
        guard let id = ids[label] else {
            throw DatasetError.unknownLabel(label: label, file: file, line: line, known: labels)
        }
        return id
    }

    /// The ids of a sentence's labels; an unknown label is an error naming its line.
    public func ids(of sentence: Sentence, file: String) throws -> [Int32] {
        guard let labels = sentence.labels else {
            throw DatasetError.invalidOptions("\(file):\(sentence.line): the sentence has no labels; read the corpus with a label column.")
        }
        return try labels.enumerated().map { try id(of: $0.element, file: file, line: sentence.line(ofWord: $0.offset)) }
    }

    /// Checks that every label of `corpus` is known, throwing for the first that is not.
    public func validate(_ corpus: Corpus) throws {
        for sentence in corpus.sentences { _ = try ids(of: sentence, file: corpus.file) }
    }

    public func label(for id: Int) -> String { labels[id] }

    // MARK: Ordering and continuation

    private static let prefixRank: [String: Int] = ["B": 0, "I": 1, "E": 2, "S": 3, "L": 4, "U": 5]

    /// Splits `label` into scheme prefix and entity type at the first hyphen, or returns nil
    /// when it does not start with one of the prefixes B, I, E, S, L, U.
    static func split(_ label: String) -> (prefix: String, type: Substring)? {
        guard let hyphen = label.firstIndex(of: "-") else { return nil }
        let prefix = String(label[..<hyphen])
        guard prefixRank[prefix] != nil else { return nil }
        return (prefix, label[label.index(after: hyphen)...])
    }

    /// The label a non-first piece of a word labelled `label` carries when every sub-word is
    /// labelled: inside an entity of the same type (`I-`) whatever the word's own prefix,
    /// because every scheme has `I-` for "within an entity" and only the first piece speaks
    /// for the word's boundary; labels without a scheme prefix (O, POS tags) are kept.
    public static func continuationLabel(of label: String) -> String {
        guard let (_, type) = split(label) else { return label }
        return "I-" + type
    }

    static func canonicalOrder(_ labels: Set<String>) -> [String] {
        func key(_ label: String) -> (type: [UInt32], rank: Int) {
            if let (prefix, type) = split(label) {
                return (type.unicodeScalars.map(\.value), prefixRank[prefix]!)
            }
            return (label.unicodeScalars.map(\.value), -1)
        }
        let rest = labels.subtracting(["O"]).sorted { a, b in
            let ka = key(a), kb = key(b)
            if ka.type != kb.type { return ka.type.lexicographicallyPrecedes(kb.type) }
            if ka.rank != kb.rank { return ka.rank < kb.rank }
            return a.unicodeScalars.map(\.value).lexicographicallyPrecedes(b.unicodeScalars.map(\.value))
        }
        return (labels.contains("O") ? ["O"] : []) + rest
    }

    // MARK: Persistence

    /// Writes `{"labels": [...]}` atomically.
    public func save(to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: ["labels": labels], options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data + Data("\n".utf8), to: url)
    }

    /// Reads a label list: `{"labels": [...]}` as `save` writes it, a plain JSON array, or a
    /// HuggingFace `config.json` with `id2label`.
    public static func load(from url: URL) throws -> LabelSet {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError.unreadable(file: url.path, reason: CoNLLReader.reason(error, path: url.path))
        }
        return try decode(data, file: url.path)
    }

    static func decode(_ data: Data, file: String) throws -> LabelSet {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw DatasetError.invalidLabelFile(file: file, problem: "not valid JSON")
        }
        // A label listed twice is a fault of this file, and the error must say which file.
        func labelSet(_ labels: [String]) throws -> LabelSet {
            do { return try LabelSet(labels) } catch let DatasetError.invalidOptions(problem) {
                throw DatasetError.invalidLabelFile(file: file, problem: problem.hasSuffix(".") ? String(problem.dropLast()) : problem)
            }
        }
        if let array = object as? [String] { return try labelSet(array) }
        guard let dictionary = object as? [String: Any] else {
            throw DatasetError.invalidLabelFile(file: file, problem: "the top level is neither an array nor an object")
        }
        if let labels = dictionary["labels"] {
            guard let array = labels as? [String] else {
                throw DatasetError.invalidLabelFile(file: file, problem: "key \"labels\" is not an array of strings")
            }
            return try labelSet(array)
        }
        if let id2label = dictionary["id2label"] as? [String: String] {
            var labels = [String?](repeating: nil, count: id2label.count)
            for (key, label) in id2label {
                guard let id = Int(key), id >= 0, id < labels.count, labels[id] == nil else {
                    throw DatasetError.invalidLabelFile(file: file, problem: "key \"id2label\": ids must be 0..<\(labels.count), each once; found \"\(key)\"")
                }
                labels[id] = label
            }
            return try labelSet(labels.map { $0! })
        }
        throw DatasetError.invalidLabelFile(file: file, problem: "no key \"labels\" or \"id2label\"")
    }
}

/// Writes `data` as every output is written (`OutputFile`): a regular file is replaced atomically, a
/// symbolic link's target is replaced and the link kept, a device or FIFO is written in place.
public func writeAtomically(_ data: Data, to url: URL) throws {
    do {
        try OutputFile.write(data, to: url)
    } catch {
        throw DatasetError.unwritable(file: url.path, reason: fileErrorReason(error))
    }
}
