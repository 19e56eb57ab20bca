// Valid-sequence decoding: which label may follow which under a tagging scheme, and the Viterbi
// search for the well-formed label sequence with the largest summed log-probability.

/// Why a label set cannot be decoded under a scheme.
public enum DecodingError: Error, Equatable, CustomStringConvertible {
    /// A label that is neither `O` nor `PREFIX-TYPE` with one of the scheme's prefixes.
    case labelOutsideScheme(label: String, scheme: TaggingScheme)
    /// No well-formed sequence of `length` labels can be made from the label set.
    case noValidSequence(length: Int, scheme: TaggingScheme, labels: [String])
    /// The scores do not hold one row of `labelCount` values per word.
    case scoreShape(values: Int, labelCount: Int)

    public var description: String {
        switch self {
        case let .labelOutsideScheme(label, scheme):
            "label '\(label)' is not a tag of \(scheme.rawValue) (O, or one of \(scheme.prefixes.subtracting(["O"]).sorted().joined(separator: ", ")) "
                + "followed by '-' and a type); state the scheme the labels are written in, or decode with argmax"
        case let .noValidSequence(length, scheme, labels):
            "no well-formed \(scheme.rawValue) sequence of \(length) labels can be made from \(labels); "
                + "the label set lacks the tags that scheme needs (an O label, or single-token tags); decode with argmax"
        case let .scoreShape(values, labelCount):
            "\(values) scores are not a whole number of rows of \(labelCount) labels"
        }
    }
}

extension TaggingScheme {
    /// The scheme a label set is written in, from the prefixes it uses: B and I give IOB2, I alone
    /// IOB1, I and E (E required) IOE2, S or B with E IOBES, L or U BILOU. `nil` when a label other than `O`
    /// has no scheme prefix (POS tags, say), when the prefixes mix schemes, or when there is no entity label:
    /// such label sets are decoded with every transition allowed.
    ///
    /// The label set cannot tell IOB1 from IOB2 (or IOE1 from IOE2); ``inferred(labels:sequences:)`` can.
    public static func inferred(labels: some Sequence<String>) -> TaggingScheme? {
        var prefixes = Set<Character>()
        for label in labels where label != "O" {
            let tag = Tag(parsing: label)
            guard tag.prefix.count == 1, let type = tag.type, !type.isEmpty, let prefix = tag.prefix.first,
                  "BIESLU".contains(prefix) else { return nil }
            prefixes.insert(prefix)
        }
        if prefixes.isEmpty { return nil }
        if prefixes == ["I"] { return .iob1 }
        if prefixes.isSubset(of: ["B", "I"]) { return .iob2 }
        if prefixes.isSubset(of: ["I", "E"]) { return .ioe2 }
        if prefixes.isSubset(of: ["B", "I", "E", "S"]) { return .iobes }
        if prefixes.isSubset(of: ["B", "I", "L", "U"]) { return .bilou }
        return nil
    }

    /// The scheme of labelled data: the label set's (see ``inferred(labels:)``), or, where the label set
    /// fits two schemes (IOB2 and IOB1; IOE2 and IOE1), the one under which fewest sequences are
    /// ill-formed, the first on a tie. CoNLL-2003 as first published (`I-` after `O`) gives IOB1.
    public static func inferred(labels: some Sequence<String>, sequences: [[String]]) -> TaggingScheme? {
        guard let scheme = inferred(labels: labels) else { return nil }
        let candidates: [TaggingScheme]
        switch scheme {
        case .iob2: candidates = [.iob2, .iob1]
        case .ioe2: candidates = [.ioe2, .ioe1]
        default: return scheme
        }
        let labelSet = Array(Set(sequences.joined()).union(labels)).sorted()
        var best = scheme, fewest = Int.max
        for candidate in candidates {
            guard let transitions = try? LabelTransitions(labels: labelSet, scheme: candidate) else { continue }
            let index = Dictionary(uniqueKeysWithValues: labelSet.enumerated().map { ($0.element, $0.offset) })
            let illFormed = sequences.lazy.filter { !transitions.isWellFormed($0.map { index[$0]! }) }.count
            if illFormed < fewest {
                best = candidate
                fewest = illFormed
            }
        }
        return best
    }
}

/// Which label may start a sequence, follow another, and end a sequence, under a tagging scheme: the
/// sequences these allow are exactly the well-formed ones, those that ``TaggingScheme/tags(for:count:)``
/// writes for their own entities (so IOB1 has `B-X` only right after an `X` entity, IOE1 `E-X` only right
/// before one). Without a scheme every sequence is allowed.
public struct LabelTransitions: Sendable, Equatable {
    public let labels: [String]
    public let scheme: TaggingScheme?
    /// [NL] whether label i may open / close a sequence.
    public let canStart: [Bool]
    public let canEnd: [Bool]
    /// [NL, NL] whether label j may directly follow label i, at `i * NL + j`.
    public let canFollow: [Bool]

    /// The transitions of `labels` (ids are positions) under `scheme`; every label must be `O` or a tag of
    /// the scheme.
    public init(labels: [String], scheme: TaggingScheme?) throws {
        self.labels = labels
        self.scheme = scheme
        let n = labels.count
        guard let scheme else {
            canStart = Array(repeating: true, count: n)
            canEnd = Array(repeating: true, count: n)
            canFollow = Array(repeating: true, count: n * n)
            return
        }
        let roles = try labels.map { label -> Role in
            if label == "O" { return .outside }
            guard scheme.isValid(label), let role = Role(Tag(parsing: label), scheme: scheme) else {
                throw DecodingError.labelOutsideScheme(label: label, scheme: scheme)
            }
            return role
        }
        canStart = roles.map { Self.allowed(scheme, nil, $0) }
        canEnd = roles.map { Self.allowed(scheme, $0, nil) }
        var follow = [Bool](repeating: false, count: n * n)
        for i in 0..<n {
            for j in 0..<n { follow[i * n + j] = Self.allowed(scheme, roles[i], roles[j]) }
        }
        canFollow = follow
    }

    /// The transitions for a label set written in the scheme it implies (see
    /// ``TaggingScheme/inferred(labels:)``).
    public init(inferringSchemeOf labels: [String]) {
        // An inferred scheme accepts every label of the set, so this cannot throw.
        try! self.init(labels: labels, scheme: TaggingScheme.inferred(labels: labels))
    }

    public var count: Int { labels.count }

    /// Whether `ids` is a well-formed sequence (the empty sequence is).
    public func isWellFormed(_ ids: [Int]) -> Bool {
        guard let first = ids.first, let last = ids.last else { return true }
        guard canStart[first], canEnd[last] else { return false }
        for (previous, current) in zip(ids, ids.dropFirst()) where !canFollow[previous * count + current] {
            return false
        }
        return true
    }

    /// The best label of each row on its own (the first on a tie, as `torch.argmax`), well formed or not.
    /// `scores` is [W, NL] row-major.
    public func argmax(_ scores: [Double]) throws -> [Int] {
        let n = count
        guard n > 0, scores.count % n == 0 else { throw DecodingError.scoreShape(values: scores.count, labelCount: n) }
        return stride(from: 0, to: scores.count, by: n).map { row in
            var best = 0
            for j in 1..<n where scores[row + j] > scores[row + best] { best = j }
            return best
        }
    }

    /// The well-formed sequence with the largest sum of `scores` (log-probabilities, [W, NL] row-major),
    /// by Viterbi's dynamic programme; on ties the lower label ids win, as in `argmax`. So the result is
    /// `argmax`'s whenever that is well formed.
    public func viterbi(_ scores: [Double]) throws -> [Int] {
        let n = count
        guard n > 0, scores.count % n == 0 else { throw DecodingError.scoreShape(values: scores.count, labelCount: n) }
        let words = scores.count / n
        if words == 0 { return [] }
        // best[j]: the best score of a valid prefix ending in label j; back[w * n + j]: its previous label.
        var best = (0..<n).map { canStart[$0] ? scores[$0] : -Double.infinity }
        var next = [Double](repeating: 0, count: n)
        var back = [Int32](repeating: -1, count: words * n)
        for w in 1..<words {
            for j in 0..<n {
                var top = -Double.infinity
                var from = -1
                for i in 0..<n where canFollow[i * n + j] && best[i] > top {
                    top = best[i]
                    from = i
                }
                next[j] = top + scores[w * n + j]
                back[w * n + j] = Int32(from)
            }
            swap(&best, &next)
        }
        var last = -1
        var top = -Double.infinity
        for j in 0..<n where canEnd[j] && best[j] > top {
            top = best[j]
            last = j
        }
        guard last >= 0 else {
            throw DecodingError.noValidSequence(length: words, scheme: scheme ?? .iob2, labels: labels)
        }
        var path = [Int](repeating: 0, count: words)
        path[words - 1] = last
        for w in stride(from: words - 1, to: 0, by: -1) {
            path[w - 1] = Int(back[w * n + path[w]])
        }
        return path
    }

    /// What a tag says about its position in an entity, scheme by scheme (`E` and `L`, `S` and `U` alike).
    enum Role: Equatable {
        case outside
        case begin(String), inside(String), end(String), single(String)

        init?(_ tag: Tag, scheme: TaggingScheme) {
            guard let type = tag.type else { return nil }
            switch tag.prefix {
            case "B": self = .begin(type)
            case "I": self = .inside(type)
            case "E", "L": self = .end(type)
            case "S", "U": self = .single(type)
            default: return nil
            }
        }

        var type: String? {
            switch self {
            case .outside: nil
            case let .begin(t), let .inside(t), let .end(t), let .single(t): t
            }
        }
    }

    /// Whether `current` may follow `previous`; nil stands for the sequence boundary.
    static func allowed(_ scheme: TaggingScheme, _ previous: Role?, _ current: Role?) -> Bool {
        let sameType = previous?.type != nil && previous?.type == current?.type
        let continues = sameType && isInsideOrEnd(current)
        switch scheme {
        case .iob2:
            // I-X continues an X entity.
            if case .inside = current { return sameType && isBeginOrInside(previous) }
            return true
        case .iob1:
            // B-X only opens an X entity right after another.
            if case .begin = current { return sameType && isBeginOrInside(previous) }
            return true
        case .ioe2:
            // An X entity that has started (I-X) goes on until its E-X.
            if case .inside = previous { return continues }
            return true
        case .ioe1:
            // E-X only closes an X entity right before another.
            if case .end = previous { return continues }
            return true
        case .iobes, .bilou:
            // B-X opens an entity that I-X continues and E-X (L-X) closes; nothing else may be inside one.
            return isBeginOrInside(previous) ? continues : !isInsideOrEnd(current)
        }
    }

    private static func isInsideOrEnd(_ role: Role?) -> Bool {
        switch role {
        case .inside, .end: true
        default: false
        }
    }

    private static func isBeginOrInside(_ role: Role?) -> Bool {
        switch role {
        case .begin, .inside: true
        default: false
        }
    }
}

extension TaggingScheme {
    /// The entities of a sequence as the scheme's writer means them: strict chunks, read with the patterns
    /// that lose no well-formed entity (for IOE1, the one-token `E-X` that seqeval 1.2.2 drops; see
    /// ``convert(_:from:to:)``). What valid-sequence decoding produces reads back whole this way.
    public func wellFormedEntities(in tags: [String]) -> [Entity] {
        entities(in: tags, rules: .complete(self))
    }
}
