// A port of seqeval 1.2.2's default (conlleval-compatible) chunking: `get_entities`,
// `end_of_chunk` and `start_of_chunk` in `metrics/sequence_labeling.py`.

/// One token as `get_entities` reads it (prefix style): the prefix is the first character,
/// whatever it is; the type is what follows the first hyphen after it (`'B-creative-work'` ->
/// `creative-work`, `'Bx-PER'` -> `PER`), or everything after the first character when there is no
/// hyphen (`'BPER'` -> `PER`), or `_` when that is empty (`'O'`, `'B'`, `'B-'`).
struct DefaultToken {
    var prefix: Unicode.Scalar
    var type: Int32
}

/// `get_entities`'s loop state. seqeval starts with `prev_type = ''`, a type no token has (an
/// empty type reads as `_`); it only decides whether the very first token starts a chunk, where
/// the chunk start is 0 either way, so it is kept for literalness rather than effect.
///
/// Fed a whole corpus with `O` after each sentence, as seqeval reads a list of lists, a chunk
/// opened by a tag with an unknown prefix and type `_` (`X`) survives the `O`s and can end in a
/// later sentence; seqeval scores that chunk, and so does ``classificationReport(gold:predicted:mode:)``.
struct DefaultChunker {
    static let initialType: Int32 = -1

    private var previousPrefix: Unicode.Scalar = "O"
    private var previousType: Int32 = DefaultChunker.initialType
    private var begin = 0

    /// Feeds the token at `index`; reports a chunk that ended just before it as (type, start,
    /// end) with `end` exclusive.
    @inline(__always)
    mutating func step(_ token: DefaultToken, at index: Int,
                       _ body: (_ type: Int32, _ start: Int, _ end: Int) -> Void) {
        if Self.endOfChunk(previousPrefix, token.prefix, previousType, token.type) {
            body(previousType, begin, index)
        }
        if Self.startOfChunk(previousPrefix, token.prefix, previousType, token.type) {
            begin = index
        }
        previousPrefix = token.prefix
        previousType = token.type
    }

    @inline(__always)
    static func endOfChunk(_ previousPrefix: Unicode.Scalar, _ prefix: Unicode.Scalar,
                           _ previousType: Int32, _ type: Int32) -> Bool {
        if previousPrefix == "E" || previousPrefix == "S" { return true }
        if (previousPrefix == "B" || previousPrefix == "I") && (prefix == "B" || prefix == "S" || prefix == "O") {
            return true
        }
        return previousPrefix != "O" && previousPrefix != "." && previousType != type
    }

    @inline(__always)
    static func startOfChunk(_ previousPrefix: Unicode.Scalar, _ prefix: Unicode.Scalar,
                             _ previousType: Int32, _ type: Int32) -> Bool {
        if prefix == "B" || prefix == "S" { return true }
        if (previousPrefix == "E" || previousPrefix == "S" || previousPrefix == "O") && (prefix == "E" || prefix == "I") {
            return true
        }
        return prefix != "O" && prefix != "." && previousType != type
    }
}

/// Parses each distinct tag once, for both readings, and interns entity types.
struct TagReader {
    struct Parsed {
        var defaultToken: DefaultToken
        /// `nil` when the first character is not a prefix seqeval's strict mode knows.
        var strictPrefix: StrictPrefix?
        var strictType: Int32
    }

    private(set) var typeNames: [String] = []
    private var typeIDs: [String: Int32] = [:]
    /// Label sets are small, and comparing a short string with a few others is cheaper than
    /// hashing it; the dictionary takes over for unusually many distinct tags.
    private var recent: [(tag: String, parsed: Parsed)] = []
    private var parsed: [String: Parsed] = [:]
    /// Runs of one tag (mostly `O`) are the norm.
    private var lastTag = ""
    private var lastParsed: Parsed?
    /// The `_` type of `O`: the type of the outside token that ends every sentence.
    let outsideType: Int32

    init() {
        outsideType = 0
        typeNames = ["_"]
        typeIDs = ["_": 0]
    }

    private mutating func intern<S: StringProtocol>(_ type: S) -> Int32 {
        let name = type.isEmpty ? "_" : String(type)
        if let id = typeIDs[name] { return id }
        let id = Int32(typeNames.count)
        typeNames.append(name)
        typeIDs[name] = id
        return id
    }

    /// `nil` for the empty tag, which seqeval cannot read in either mode.
    @inline(__always)
    mutating func parse(_ tag: String) -> Parsed? {
        if tag == lastTag { return lastParsed }
        lastTag = tag
        lastParsed = lookUp(tag)
        return lastParsed
    }

    private mutating func lookUp(_ tag: String) -> Parsed? {
        for entry in recent where entry.tag == tag { return entry.parsed }
        if let known = parsed[tag] { return known }
        let scalars = tag.unicodeScalars
        guard let first = scalars.first else { return nil }
        let rest = scalars.dropFirst()

        let defaultType = rest.firstIndex(of: "-").map { rest[rest.index(after: $0)...] } ?? rest
        var strictType = rest
        while strictType.first == "-" { strictType.removeFirst() }
        while strictType.last == "-" { strictType.removeLast() }

        let result = Parsed(
            defaultToken: DefaultToken(prefix: first, type: intern(Substring(defaultType))),
            strictPrefix: StrictPrefix(first),
            strictType: intern(Substring(strictType)))
        if recent.count < 32 { recent.append((tag, result)) } else { parsed[tag] = result }
        return result
    }
}

/// The entities of one sentence, read as seqeval reads them.
///
/// Default mode is `get_entities(tags)`; strict mode is ``TaggingScheme/entities(in:)``. seqeval
/// raises on an empty tag, and in strict mode on a tag whose first character is not one of the
/// scheme's prefixes; this function reads such tags as `O` (``classificationReport(gold:predicted:mode:)``
/// reports them as errors instead).
///
/// In default mode seqeval can report two overlapping chunks, when a tag with an unknown prefix
/// but an entity type continues a chunk past its end (`B-PER O-PER x-PER O` gives `PER[0..<1]`
/// and `PER[0..<3]`); both are returned, as seqeval does.
public func entities(in tags: [String], mode: EvaluationMode) -> [Entity] {
    switch mode {
    case .strict(let scheme):
        return scheme.entities(in: tags)
    case .default:
        var reader = TagReader()
        var chunker = DefaultChunker()
        var found: [(Int32, Int, Int)] = []
        let report: (Int32, Int, Int) -> Void = { found.append(($0, $1, $2)) }
        for (index, tag) in tags.enumerated() {
            let token = reader.parse(tag)?.defaultToken ?? DefaultToken(prefix: "O", type: reader.outsideType)
            chunker.step(token, at: index, report)
        }
        chunker.step(DefaultToken(prefix: "O", type: reader.outsideType), at: tags.count, report)
        return found.map { Entity(type: reader.typeNames[Int($0.0)], start: $0.1, end: $0.2) }
    }
}
