// Reading and writing entity spans in each tagging scheme, and converting between schemes.

extension TaggingScheme {
    /// The entities of one sentence under this scheme's strict rules, exactly as seqeval 1.2.2's
    /// `Entities(..., scheme)` finds them: chunks that do not start, continue and end by the
    /// scheme's patterns are dropped (an IOB2 `I-` after `O` is no entity).
    ///
    /// seqeval raises on a tag whose first character is not one of the scheme's prefixes; such a
    /// tag reads as `O` here. Use ``isValid(_:)`` to check data first.
    ///
    /// For IOE1 this keeps seqeval's defect: a one-token entity tagged `E-X` (one directly
    /// followed by another `X`) is dropped unless the token before it is `E-X` too.
    /// ``convert(_:from:to:)`` reads IOE1 without that defect.
    public func entities(in tags: [String]) -> [Entity] {
        entities(in: tags, rules: .seqeval(self))
    }

    func entities(in tags: [String], rules: StrictRules) -> [Entity] {
        var reader = TagReader()
        let allowed = allowedPrefixes
        let tokens = tags.map { tag -> StrictToken in
            guard let parsed = reader.parse(tag), let prefix = parsed.strictPrefix, allowed.contains(prefix) else {
                return StrictToken(prefix: .o, type: reader.outsideType)
            }
            return StrictToken(prefix: prefix, type: parsed.strictType)
        }
        var found: [Entity] = []
        tokens.withUnsafeBufferPointer { buffer in
            rules.chunks(buffer, outsideType: reader.outsideType) { type, start, end in
                found.append(Entity(type: reader.typeNames[Int(type)], start: start, end: end))
            }
        }
        return found
    }

    /// `count` tags encoding `entities` in this scheme. IOB1 puts `B-` only on an entity that
    /// directly follows one of the same type, IOE1 puts `E-` only on one directly followed by one
    /// of the same type.
    ///
    /// The entities must lie within `0..<count`, be non-empty and not overlap (their order does
    /// not matter). Types read back unchanged unless they are empty or begin or end with a hyphen,
    /// which seqeval strips.
    public func tags(for entities: [Entity], count: Int) -> [String] {
        var tags = Array(repeating: "O", count: count)
        let sorted = entities.sorted { $0.start < $1.start }
        for (index, entity) in sorted.enumerated() {
            precondition(entity.start >= 0 && entity.start < entity.end && entity.end <= count,
                         "entity \(entity) is empty or outside 0..<\(count)")
            let previous = index > 0 ? sorted[index - 1] : nil
            let next = index + 1 < sorted.count ? sorted[index + 1] : nil
            precondition(previous.map { $0.end <= entity.start } ?? true,
                         "entities \(previous!) and \(entity) overlap")
            let followsSameType = previous.map { $0.end == entity.start && $0.type == entity.type } ?? false
            let precedesSameType = next.map { $0.start == entity.end && $0.type == entity.type } ?? false
            let single = entity.end - entity.start == 1

            let first: String, inside: String, last: String
            switch self {
            case .iob1: (first, inside, last) = (followsSameType ? "B" : "I", "I", "I")
            case .iob2: (first, inside, last) = ("B", "I", "I")
            case .ioe1: (first, inside, last) = ("I", "I", precedesSameType ? "E" : "I")
            case .ioe2: (first, inside, last) = ("I", "I", "E")
            case .iobes: (first, inside, last) = single ? ("S", "S", "S") : ("B", "I", "E")
            case .bilou: (first, inside, last) = single ? ("U", "U", "U") : ("B", "I", "L")
            }
            for position in entity.start..<entity.end {
                let prefix: String
                if position == entity.start {
                    // A one-token entity is both first and last; the schemes that mark one end
                    // only (IOB1 the start, IOE1 the end) decide by that end.
                    prefix = single && (self == .ioe1 || self == .ioe2) ? last : first
                } else if position == entity.end - 1 {
                    prefix = last
                } else {
                    prefix = inside
                }
                tags[position] = prefix + "-" + entity.type
            }
        }
        return tags
    }
}

/// Re-encodes a sentence's tags from one scheme in another, through its entity spans.
///
/// Spans are read with `from`'s strict rules, so chunks that are ill-formed under `from` are
/// dropped. IOE1 is read with the start patterns seqeval 1.2.2 lacks (see
/// ``TaggingScheme/entities(in:)``), so that no well-formed IOE1 entity is lost.
public func convert(_ tags: [String], from: TaggingScheme, to: TaggingScheme) -> [String] {
    to.tags(for: from.entities(in: tags, rules: .complete(from)), count: tags.count)
}
