/// The tagging schemes seqeval's strict mode knows, named as seqeval names them.
///
/// Each tag is `O` or `PREFIX-TYPE`; the schemes differ in which prefixes they use and in where
/// they put them:
/// - IOB1: `I` everywhere, `B` only on the first token of an entity that directly follows one of
///   the same type.
/// - IOB2: `B` on the first token, `I` on the rest.
/// - IOE1: `I` everywhere, `E` only on the last token of an entity directly followed by one of the
///   same type.
/// - IOE2: `E` on the last token, `I` on the rest.
/// - IOBES: `S` for single tokens, otherwise `B`, `I`..., `E`.
/// - BILOU: `U` for single tokens, otherwise `B`, `I`..., `L`.
public enum TaggingScheme: String, CaseIterable, Sendable, Codable {
    case iob1 = "IOB1", iob2 = "IOB2", ioe1 = "IOE1", ioe2 = "IOE2", iobes = "IOBES", bilou = "BILOU"

    /// The prefixes a tag of this scheme may carry, `O` included.
    public var prefixes: Set<String> {
        Set(allowedPrefixes.members.map { String($0.character) })
    }

    /// Whether `tag` is a well-formed tag of this scheme: `O`, or `PREFIX-TYPE` with one of the
    /// scheme's entity prefixes and a non-empty type (which may itself contain hyphens).
    ///
    /// This is the check for data. The strict scorer is more lenient, because seqeval is: it only
    /// rejects a tag whose first character is not one of the scheme's prefixes, and reads `BPER`
    /// as `B` + `PER` and `O-PER` as an outside token.
    public func isValid(_ tag: String) -> Bool {
        if tag == "O" { return true }
        let scalars = tag.unicodeScalars
        guard let first = scalars.first, let prefix = StrictPrefix(first), prefix != .o,
              allowedPrefixes.contains(prefix)
        else { return false }
        let rest = scalars.dropFirst()
        return rest.first == "-" && rest.count > 1
    }

    var allowedPrefixes: StrictPrefix.Set {
        switch self {
        case .iob1, .iob2: [.i, .o, .b]
        case .ioe1, .ioe2: [.i, .o, .e]
        case .iobes: [.i, .o, .b, .e, .s]
        case .bilou: [.b, .i, .l, .o, .u]
        }
    }
}

/// A tag split into its prefix and entity type at the first hyphen: `B-creative-work` is prefix
/// `B`, type `creative-work`; `O` (or any tag without a hyphen) is a prefix with no type.
///
/// This is the reading of well-formed tags used by data handling. The scorers read malformed tags
/// exactly as seqeval does instead (see ``entities(in:mode:)``), which for a tag without a hyphen
/// such as `BPER` differs from this.
public struct Tag: Hashable, Sendable, CustomStringConvertible {
    public var prefix: String
    /// The entity type; `nil` for `O` and for any tag without a hyphen.
    public var type: String?

    public init(prefix: String, type: String?) {
        self.prefix = prefix
        self.type = type
    }

    public init(parsing tag: String) {
        if let hyphen = tag.unicodeScalars.firstIndex(of: "-") {
            prefix = String(tag.unicodeScalars[..<hyphen])
            type = String(tag.unicodeScalars[tag.unicodeScalars.index(after: hyphen)...])
        } else {
            prefix = tag
            type = nil
        }
    }

    /// The tag as text: `PREFIX-TYPE`, or the bare prefix when there is no type.
    public var description: String {
        guard let type else { return prefix }
        return prefix + "-" + type
    }
}

/// A span of tokens carrying one entity type.
public struct Entity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var type: String
    /// Index of the first token.
    public var start: Int
    /// Index one past the last token.
    public var end: Int

    public init(type: String, start: Int, end: Int) {
        self.type = type
        self.start = start
        self.end = end
    }

    public static func < (lhs: Entity, rhs: Entity) -> Bool {
        if lhs.start != rhs.start { return lhs.start < rhs.start }
        if lhs.end != rhs.end { return lhs.end < rhs.end }
        return lhs.type.unicodeScalars.lexicographicallyPrecedes(rhs.type.unicodeScalars)
    }

    public var description: String { "\(type)[\(start)..<\(end)]" }
}

/// How entities are read from tags when scoring.
public enum EvaluationMode: Sendable, Equatable {
    /// seqeval's default, compatible with conlleval: any tag sequence is read, an `I-` after `O`
    /// or after another type starts an entity, and a change of type ends one.
    case `default`
    /// seqeval's `mode='strict'` with a scheme: only chunks well formed under the scheme count.
    case strict(TaggingScheme)
}
