/// What BertNormalizer and BertPreTokenizer need to know about one scalar.
struct ScalarFlags: OptionSet, Sendable {
    let rawValue: UInt8
    static let control = ScalarFlags(rawValue: 1 << 0)
    static let whitespace = ScalarFlags(rawValue: 1 << 1)
    static let punctuation = ScalarFlags(rawValue: 1 << 2)
    static let cjk = ScalarFlags(rawValue: 1 << 3)
    static let nonspacingMark = ScalarFlags(rawValue: 1 << 4)
    static let decomposes = ScalarFlags(rawValue: 1 << 5)
    static let lowercases = ScalarFlags(rawValue: 1 << 6)
    static let nonStarter = ScalarFlags(rawValue: 1 << 7)
}

/// Scalar facts as HuggingFace `tokenizers` sees them, from `UnicodeTables`.
///
/// Swift's own `Unicode.Scalar.Properties` follow a newer Unicode than the Rust crates behind
/// `tokenizers` (general categories from Unicode 8, NFD from Unicode 9), and would disagree on a few
/// hundred code points; the tables carry the reference's view instead.
final class ScalarProperties: Sendable {
    static let shared = ScalarProperties()

    /// `scalar >> 8` -> index of its 256-entry block in `blocks`; identical blocks are stored once.
    private let blockIndex: [UInt16]
    private let blocks: [UInt8]
    private let decompositionTable: [UInt32: [UInt32]]
    private let lowercaseTable: [UInt32: [UInt32]]
    private let combiningClassTable: [UInt32: UInt8]

    private init() {
        var flags = [UInt8](repeating: 0, count: 0x110000)
        func mark(_ table: String, _ flag: ScalarFlags) {
            for range in Self.parseRanges(table) { for cp in range { flags[Int(cp)] |= flag.rawValue } }
        }
        mark(UnicodeTables.control, .control)
        mark(UnicodeTables.whitespace, .whitespace)
        mark(UnicodeTables.punctuation, .punctuation)
        mark(UnicodeTables.cjk, .cjk)
        mark(UnicodeTables.nonspacingMarks, .nonspacingMark)

        var decompositions: [UInt32: [UInt32]] = [:]
        for (cp, target) in Self.parseMappings(UnicodeTables.decompositions) {
            decompositions[cp] = target
            flags[Int(cp)] |= ScalarFlags.decomposes.rawValue
        }
        for cp in Hangul.syllables { flags[Int(cp)] |= ScalarFlags.decomposes.rawValue }
        var lowercase: [UInt32: [UInt32]] = [:]
        for (cp, target) in Self.parseMappings(UnicodeTables.lowercase) {
            lowercase[cp] = target
            flags[Int(cp)] |= ScalarFlags.lowercases.rawValue
        }
        var combining: [UInt32: UInt8] = [:]
        for entry in Self.entries(UnicodeTables.combiningClasses) {
            let parts = entry.split(separator: ":")
            let value = UInt8(parts[1], radix: 16)!
            for cp in Self.parseRange(parts[0]) {
                combining[cp] = value
                flags[Int(cp)] |= ScalarFlags.nonStarter.rawValue
            }
        }

        var index = [UInt16]()
        var blocks = [UInt8]()
        var seen: [ArraySlice<UInt8>: UInt16] = [:]
        index.reserveCapacity(0x1100)
        for start in stride(from: 0, to: 0x110000, by: 256) {
            let block = flags[start..<start + 256]
            if let existing = seen[block] {
                index.append(existing)
            } else {
                let number = UInt16(blocks.count / 256)
                seen[block] = number
                blocks.append(contentsOf: block)
                index.append(number)
            }
        }
        self.blockIndex = index
        self.blocks = blocks
        self.decompositionTable = decompositions
        self.lowercaseTable = lowercase
        self.combiningClassTable = combining
    }

    @inline(__always)
    func flags(_ scalar: UInt32) -> ScalarFlags {
        let block = Int(blockIndex[Int(scalar &>> 8)])
        return ScalarFlags(rawValue: blocks[block &<< 8 | Int(scalar & 0xFF)])
    }

    /// Full canonical decomposition; only for scalars flagged `.decomposes`.
    func decomposition(_ scalar: UInt32, into output: inout [UInt32]) {
        if let target = decompositionTable[scalar] {
            output.append(contentsOf: target)
        } else {
            Hangul.decompose(scalar, into: &output)
        }
    }

    /// Only for scalars flagged `.lowercases`.
    func lowercaseMapping(_ scalar: UInt32) -> [UInt32] { lowercaseTable[scalar] ?? [scalar] }

    /// Only for scalars flagged `.nonStarter`.
    func combiningClass(_ scalar: UInt32) -> UInt8 { combiningClassTable[scalar] ?? 0 }

    // MARK: Table syntax (see the header of UnicodeTables.swift)

    private static func entries(_ table: String) -> [Substring] {
        // Lines wrap at a fixed width, in the middle of entries, so newlines carry no meaning.
        Substring(table.filter { $0 != "\n" }).split(separator: ",")
    }

    private static func parseRange(_ text: Substring) -> ClosedRange<UInt32> {
        let bounds = text.split(separator: "-")
        let low = UInt32(bounds[0], radix: 16)!
        return low...(bounds.count > 1 ? UInt32(bounds[1], radix: 16)! : low)
    }

    private static func parseRanges(_ table: String) -> [ClosedRange<UInt32>] {
        entries(table).map(parseRange)
    }

    private static func parseMappings(_ table: String) -> [(UInt32, [UInt32])] {
        var result: [(UInt32, [UInt32])] = []
        for entry in entries(table) {
            if let arrow = entry.firstIndex(of: ">") {
                let range = parseRange(entry[..<arrow])
                let target = UInt32(entry[entry.index(after: arrow)...], radix: 16)!
                for cp in range { result.append((cp, [target + (cp - range.lowerBound)])) }
            } else {
                let parts = entry.split(separator: ":")
                result.append((UInt32(parts[0], radix: 16)!, parts[1].split(separator: " ").map { UInt32($0, radix: 16)! }))
            }
        }
        return result
    }
}

/// Hangul syllables decompose by formula (Unicode §3.12), not by table.
enum Hangul {
    static let syllables: ClosedRange<UInt32> = 0xAC00...0xD7A3
    private static let leadBase: UInt32 = 0x1100, vowelBase: UInt32 = 0x1161, trailBase: UInt32 = 0x11A7
    private static let vowelCount: UInt32 = 21, trailCount: UInt32 = 28

    static func decompose(_ scalar: UInt32, into output: inout [UInt32]) {
        let index = scalar - syllables.lowerBound
        output.append(leadBase + index / (vowelCount * trailCount))
        output.append(vowelBase + (index % (vowelCount * trailCount)) / trailCount)
        let trail = index % trailCount
        if trail != 0 { output.append(trailBase + trail) }
    }
}
