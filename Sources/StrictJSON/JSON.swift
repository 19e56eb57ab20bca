/// A JSON value exactly as written.
///
/// Foundation's parsers keep only the last of two equal keys, merge keys that Swift `String` equality
/// calls equal (canonical equivalence: the ohm sign U+2126 and capital omega U+03A9), and turn large
/// integers into doubles. Here numbers keep their literal text, objects keep every pair in input order,
/// and key lookup compares Unicode scalars exactly.
public enum JSON: Sendable {
    case null
    case bool(Bool)
    /// The number's text as it appears in the input; RFC 8259 grammar, so `Int(text)` and `Double(text)` read it.
    case number(String)
    case string(String)
    case array([JSON])
    /// Every pair in input order, duplicates included.
    case object([(key: String, value: JSON)])

    /// The value of the first pair whose key has exactly the scalars of `key`; nil when absent or not an object.
    public subscript(key: String) -> JSON? {
        guard case let .object(pairs) = self else { return nil }
        // UTF-8 views are equal exactly when the scalars are, unlike `String ==`.
        return pairs.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    /// The number as an `Int`, when it is written as an integer (no fraction, no exponent) that fits.
    public var exactInteger: Int? {
        guard case let .number(text) = self else { return nil }
        return Int(text)
    }

    /// The number as the nearest `Double` (infinite when beyond `Double`'s range).
    public var doubleValue: Double? {
        guard case let .number(text) = self else { return nil }
        return Double(text)
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// "null", "a boolean", "a number", "a string", "an array" or "an object", for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSON: Equatable {
    /// Structural equality; numbers compare by text, strings and keys by scalars, so "1.0" ≠ "1" and U+2126 ≠ U+03A9.
    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count
                && zip(a, b).allSatisfy { $0.key.unicodeScalars.elementsEqual($1.key.unicodeScalars) && $0.value == $1.value }
        default: return false
        }
    }
}

/// Why bytes are not one JSON value, and where: `offset` counts bytes from the start of the input;
/// `line` and `column` count from 1, lines split at "\n" and columns in bytes.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let line: Int
    public let column: Int
    public let message: String

    public init(offset: Int, line: Int, column: Int, message: String) {
        self.offset = offset
        self.line = line
        self.column = column
        self.message = message
    }

    /// "line L, column C: message".
    public var description: String { "line \(line), column \(column): \(message)" }
}
