extension JSON {
    /// The nesting limit unless a caller gives another.
    public static let defaultMaximumDepth = 64

    /// Parses bytes that must hold exactly one JSON value, with only whitespace around it.
    ///
    /// Strict RFC 8259: UTF-8 only (no byte-order mark), no control characters or lone surrogates in
    /// strings, no leading zeros, signs or bare dots in numbers, nothing after the value. The top-level
    /// value is at depth 1 and each array or object adds one for its members; a value deeper than
    /// `maximumDepth` is an error, so hostile input cannot exhaust the stack.
    ///
    /// - Throws: `JSONParseError` at the first byte that breaks the grammar.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int = defaultMaximumDepth) throws -> JSON {
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 1)
        parser.skipWhitespace()
        if parser.position != bytes.count { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    /// `parse(_:maximumDepth:)` over an array of bytes.
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = defaultMaximumDepth) throws -> JSON {
        try bytes.withUnsafeBytes { try parse($0, maximumDepth: maximumDepth) }
    }
}

/// Recursive descent over the bytes; every error carries the offset of the byte it stopped at.
private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maximumDepth: Int
    var position = 0

    init(bytes: UnsafeRawBufferPointer, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let offset = offset ?? position
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        return JSONParseError(offset: offset, line: line, column: offset - lineStart + 1, message: message)
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// How a byte reads in a message: printable ASCII as itself, anything else in hex.
    static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(hex(UInt32(byte), digits: 2))"
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    mutating func parseValue(depth: Int) throws -> JSON {
        guard let c = current else { throw error("unexpected end of input") }
        guard depth <= maximumDepth else { throw error("JSON nested deeper than \(maximumDepth) levels") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected \(Self.describe(c)), expected a value")
        }
    }

    mutating func expect(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        for i in 0..<count where position + i >= bytes.count || bytes[position + i] != literal.utf8Start[i] {
            throw error("expected '\(literal)'")
        }
        position += count
    }

    mutating func parseObject(depth: Int) throws -> JSON {
        position += 1
        var pairs: [(key: String, value: JSON)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(pairs) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key in an object") }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            position += 1
            skipWhitespace()
            pairs.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(pairs)
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    mutating func parseArray(depth: Int) throws -> JSON {
        position += 1
        var items: [JSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(items)
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as its text.
    mutating func parseNumber() throws -> String {
        let start = position
        func isDigit(_ c: UInt8?) -> Bool { c.map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? false }
        func digits(after what: String) throws {
            guard isDigit(current) else { throw error("expected a digit \(what) in a number") }
            while isDigit(current) { position += 1 }
        }
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
            if isDigit(current) { throw error("leading zero in a number") }
        } else {
            try digits(after: "after '-'")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            try digits(after: "after '.'")
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            try digits(after: "in the exponent")
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// A string's contents with escapes resolved; the bytes between escapes must be well-formed UTF-8.
    mutating func parseString() throws -> String {
        position += 1
        // Used only once an escape appears; a string without escapes is decoded straight from the input.
        var unescaped: [UInt8] = []
        var hasEscape = false
        var runStart = position
        while true {
            guard let c = current else { throw error("unterminated string") }
            switch c {
            case UInt8(ascii: "\""):
                let run = UnsafeRawBufferPointer(rebasing: bytes[runStart..<position])
                position += 1
                guard hasEscape else { return String(decoding: run, as: UTF8.self) }
                unescaped.append(contentsOf: run)
                return String(decoding: unescaped, as: UTF8.self)
            case UInt8(ascii: "\\"):
                hasEscape = true
                unescaped.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<position]))
                appendUTF8(try parseEscape(), to: &unescaped)
                runStart = position
            case 0x00..<0x20:
                throw error("control character U+\(Self.hex(UInt32(c), digits: 4)) in a string; it must be escaped")
            case 0x20..<0x80:
                position += 1
            default:
                guard let length = utf8SequenceLength(at: position) else { throw error("invalid UTF-8 in a string") }
                position += length
            }
        }
    }

    /// The length of the well-formed UTF-8 sequence that starts with a non-ASCII byte at `i`
    /// (Unicode Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or nil.
    func utf8SequenceLength(at i: Int) -> Int? {
        func continuation(_ j: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            j < bytes.count && range.contains(bytes[j])
        }
        switch bytes[i] {
        case 0xC2...0xDF:
            return continuation(i + 1) ? 2 : nil
        case 0xE0:
            return continuation(i + 1, 0xA0...0xBF) && continuation(i + 2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(i + 1) && continuation(i + 2) ? 3 : nil
        case 0xED:
            return continuation(i + 1, 0x80...0x9F) && continuation(i + 2) ? 3 : nil
        case 0xF0:
            return continuation(i + 1, 0x90...0xBF) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
        case 0xF1...0xF3:
            return continuation(i + 1) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
        case 0xF4:
            return continuation(i + 1, 0x80...0x8F) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
        default:
            return nil
        }
    }

    /// The scalar an escape stands for, with `position` on its backslash; a `\u` high surrogate must be
    /// followed at once by a `\u` low surrogate.
    mutating func parseEscape() throws -> Unicode.Scalar {
        let start = position
        position += 1
        guard let escape = current else { throw error("unterminated string") }
        position += 1
        switch escape {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            switch unit {
            case 0xD800..<0xDC00:
                guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                    throw error("lone surrogate \\u\(Self.hex(unit, digits: 4)) in a string", at: start)
                }
                position += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error("lone surrogate \\u\(Self.hex(unit, digits: 4)) in a string", at: start)
                }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
            case 0xDC00..<0xE000:
                throw error("lone surrogate \\u\(Self.hex(unit, digits: 4)) in a string", at: start)
            default:
                return Unicode.Scalar(unit)!
            }
        default:
            let shown = (0x21...0x7E).contains(escape) ? "'\\\(Character(Unicode.Scalar(escape)))'" : "'\\' then \(Self.describe(escape))"
            throw error("invalid escape \(shown) in a string", at: start)
        }
    }

    mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw error("expected four hex digits after \\u") }
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw error("expected four hex digits after \\u")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        UTF8.encode(scalar, into: { bytes.append($0) })
    }
}
