// A port of seqeval 1.2.2's `scheme.py` (`Token`, `Tokens.entities`, `Entities`): strict chunking,
// where a chunk counts only if it starts, continues and ends by the scheme's patterns.

/// A prefix as seqeval's `Prefix` flag enum knows it. Any other first character is an error there.
enum StrictPrefix: UInt8, CaseIterable {
    case i = 1, o = 2, b = 4, e = 8, s = 16, u = 32, l = 64

    init?(_ scalar: Unicode.Scalar) {
        switch scalar {
        case "I": self = .i
        case "O": self = .o
        case "B": self = .b
        case "E": self = .e
        case "S": self = .s
        case "U": self = .u
        case "L": self = .l
        default: return nil
        }
    }

    /// 0...6, for table lookups.
    var ordinal: Int { rawValue.trailingZeroBitCount }

    var character: Character {
        switch self {
        case .i: "I"
        case .o: "O"
        case .b: "B"
        case .e: "E"
        case .s: "S"
        case .u: "U"
        case .l: "L"
        }
    }

    struct Set: OptionSet {
        let rawValue: UInt8
        static let i = Set(.i), o = Set(.o), b = Set(.b), e = Set(.e), s = Set(.s), u = Set(.u), l = Set(.l)
        static let any = Set(rawValue: 127)
        init(rawValue: UInt8) { self.rawValue = rawValue }
        init(_ prefix: StrictPrefix) { rawValue = prefix.rawValue }
        func contains(_ prefix: StrictPrefix) -> Bool { rawValue & prefix.rawValue != 0 }
        var members: [StrictPrefix] { StrictPrefix.allCases.filter(contains) }
    }
}

/// One token as seqeval's `Token` reads it: the prefix is the first character, the type is the
/// rest with every leading and trailing hyphen stripped (`'B-creative-work'` -> `creative-work`),
/// or `_` when nothing is left. Types are interned as small integers.
struct StrictToken {
    var prefix: StrictPrefix
    var type: Int32
}

/// seqeval's `Tag` condition on the types of the previous and current token.
enum TypeCondition {
    case same, different, any
}

/// One of seqeval's `(previous prefixes, current prefixes, Tag condition)` triples.
struct Pattern {
    var previous: StrictPrefix.Set
    var current: StrictPrefix.Set
    var types: TypeCondition

    init(_ previous: StrictPrefix.Set, _ current: StrictPrefix.Set, _ types: TypeCondition) {
        self.previous = previous
        self.current = current
        self.types = types
    }
}

/// A set of patterns compiled into bit masks indexed by (previous prefix, current prefix), one
/// mask per type condition, so that matching a token pair is a few bit tests.
struct PatternTable {
    private var any: UInt64 = 0
    private var same: UInt64 = 0
    private var different: UInt64 = 0

    init(_ patterns: [Pattern]) {
        for pattern in patterns {
            for previous in pattern.previous.members {
                for current in pattern.current.members {
                    let bit: UInt64 = 1 << (previous.ordinal * 7 + current.ordinal)
                    switch pattern.types {
                    case .any: any |= bit
                    case .same: same |= bit
                    case .different: different |= bit
                    }
                }
            }
        }
    }

    @inline(__always)
    func matches(_ previous: StrictToken, _ current: StrictToken) -> Bool {
        let bit: UInt64 = 1 << (previous.prefix.ordinal * 7 + current.prefix.ordinal)
        if any & bit != 0 { return true }
        return (previous.type == current.type ? same : different) & bit != 0
    }
}

/// The start, inside and end patterns of one scheme, copied from seqeval's `scheme.py`.
struct StrictRules {
    var start: PatternTable
    var inside: PatternTable
    var end: PatternTable

    init(start: [Pattern], inside: [Pattern], end: [Pattern]) {
        self.start = PatternTable(start)
        self.inside = PatternTable(inside)
        self.end = PatternTable(end)
    }

    /// seqeval's rules, defects included, so that scores agree with seqeval.
    static func seqeval(_ scheme: TaggingScheme) -> StrictRules {
        let patterns = seqevalPatterns(scheme)
        return StrictRules(start: patterns.start, inside: patterns.inside, end: patterns.end)
    }

    /// The rules that read every well-formed sequence of the scheme, for conversion.
    ///
    /// They differ from seqeval's only for IOE1, whose start patterns in seqeval 1.2.2 lack an
    /// `E-` that opens a chunk (its source says "IOE1 hasn't yet been able to handle some cases"):
    /// a one-token entity directly followed by another of its type is tagged `E-X`, and seqeval
    /// drops it unless the token before is also `E-X`. Scoring keeps seqeval's behaviour;
    /// conversion must not lose entities, so it reads IOE1 with the missing patterns added.
    static func complete(_ scheme: TaggingScheme) -> StrictRules {
        var patterns = seqevalPatterns(scheme)
        if scheme == .ioe1 {
            patterns.start += [.init(.o, .e, .any), .init(.i, .e, .different), .init(.e, .e, .different)]
        }
        return StrictRules(start: patterns.start, inside: patterns.inside, end: patterns.end)
    }

    /// The `start_patterns`, `inside_patterns` and `end_patterns` of seqeval's scheme classes.
    private static func seqevalPatterns(_ scheme: TaggingScheme)
        -> (start: [Pattern], inside: [Pattern], end: [Pattern]) {
        switch scheme {
        case .iob1:
            (start: [.init(.o, .i, .any), .init(.i, .i, .different), .init(.b, .i, .any),
                     .init(.i, .b, .same), .init(.b, .b, .same)],
             inside: [.init(.b, .i, .same), .init(.i, .i, .same)],
             end: [.init(.i, .i, .different), .init(.i, .o, .any), .init(.i, .b, .any),
                   .init(.b, .o, .any), .init(.b, .i, .different), .init(.b, .b, .same)])
        case .ioe1:
            (start: [.init(.o, .i, .any), .init(.i, .i, .different), .init(.e, .i, .any),
                     .init(.e, .e, .same)],
             inside: [.init(.i, .i, .same), .init(.i, .e, .same)],
             end: [.init(.i, .i, .different), .init(.i, .o, .any), .init(.i, .e, .different),
                   .init(.e, .i, .same), .init(.e, .e, .same)])
        case .iob2:
            (start: [.init(.any, .b, .any)],
             inside: [.init(.b, .i, .same), .init(.i, .i, .same)],
             end: [.init(.i, .o, .any), .init(.i, .i, .different), .init(.i, .b, .any),
                   .init(.b, .o, .any), .init(.b, .i, .different), .init(.b, .b, .any)])
        case .ioe2:
            (start: [.init(.o, .i, .any), .init(.o, .e, .any), .init(.e, .i, .any),
                     .init(.e, .e, .any), .init(.i, .i, .different), .init(.i, .e, .different)],
             inside: [.init(.i, .e, .same), .init(.i, .i, .same)],
             end: [.init(.e, .any, .any)])
        case .iobes:
            (start: [.init(.any, .b, .any), .init(.any, .s, .any)],
             inside: [.init(.b, .i, .same), .init(.b, .e, .same), .init(.i, .i, .same),
                      .init(.i, .e, .same)],
             end: [.init(.s, .any, .any), .init(.e, .any, .any)])
        case .bilou:
            (start: [.init(.any, .b, .any), .init(.any, .u, .any)],
             inside: [.init(.b, .i, .same), .init(.b, .l, .same), .init(.i, .i, .same),
                      .init(.i, .l, .same)],
             end: [.init(.u, .any, .any), .init(.l, .any, .any)])
        }
    }

    /// `Tokens.entities`: chunks as (type, start, end) with `end` exclusive, in order.
    ///
    /// The walk is seqeval's: at a start, run forward over inside tokens, keep the chunk only if
    /// the token that stopped the run closes it by an end pattern, and resume at that token.
    func chunks(_ tokens: UnsafeBufferPointer<StrictToken>, outsideType: Int32,
                _ body: (_ type: Int32, _ start: Int, _ end: Int) -> Void) {
        let outside = StrictToken(prefix: .o, type: outsideType)
        let count = tokens.count
        @inline(__always) func token(_ index: Int) -> StrictToken {
            index < count ? tokens[index] : outside
        }
        var index = 0
        var previous = outside
        while index <= count {
            let current = token(index)
            if start.matches(previous, current) {
                var end = index + 1
                var last = current
                while end <= count {
                    let next = token(end)
                    guard inside.matches(last, next) else { break }
                    last = next
                    end += 1
                }
                // No inside pattern accepts the trailing outside token, so `end <= count` here.
                if self.end.matches(token(end - 1), token(end)) {
                    body(current.type, index, end)
                }
                index = end
            } else {
                index += 1
            }
            previous = token(index - 1)
        }
    }
}
