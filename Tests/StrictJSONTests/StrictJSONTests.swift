import Testing
import StrictJSON

func parse(_ text: String, maximumDepth: Int = JSON.defaultMaximumDepth) throws -> JSON {
    try JSON.parse(Array(text.utf8), maximumDepth: maximumDepth)
}

/// The error parsing `bytes` throws, or nil when they parse.
func parseError(_ bytes: [UInt8], maximumDepth: Int = JSON.defaultMaximumDepth) -> JSONParseError? {
    do {
        _ = try JSON.parse(bytes, maximumDepth: maximumDepth)
        return nil
    } catch let error as JSONParseError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

func parseError(_ text: String, maximumDepth: Int = JSON.defaultMaximumDepth) -> JSONParseError? {
    parseError(Array(text.utf8), maximumDepth: maximumDepth)
}

/// `"` + bytes + `"`: a string literal whose contents may be any bytes.
func quotedBytes(_ contents: [UInt8]) -> [UInt8] { [UInt8(ascii: "\"")] + contents + [UInt8(ascii: "\"")] }

@Suite("JSON values")
struct ValueTests {
    @Test func everyKindParses() throws {
        let value = try parse(#"{"n":null,"t":true,"f":false,"x":-1.5e3,"s":"text","a":[1,[],{}],"o":{"k":"v"}}"#)
        #expect(value == .object([
            ("n", .null), ("t", .bool(true)), ("f", .bool(false)), ("x", .number("-1.5e3")), ("s", .string("text")),
            ("a", .array([.number("1"), .array([]), .object([])])), ("o", .object([("k", .string("v"))])),
        ]))
        #expect(value.kindName == "an object")
        #expect(value["n"]?.isNull == true && value["t"]?.isNull == false)
        #expect([value["n"], value["t"], value["x"], value["s"], value["a"]].map { $0?.kindName }
            == ["null", "a boolean", "a number", "a string", "an array"])
    }

    @Test func anyKindCanBeTheTopLevelValue() throws {
        #expect(try parse("null") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("0") == .number("0"))
        #expect(try parse(#""""#) == .string(""))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([]))
    }

    @Test func whitespaceIsSpaceTabLineFeedAndCarriageReturnOnly() throws {
        #expect(try parse(" \t\r\n[ 1 ,\n\t2 ]\r\n ") == .array([.number("1"), .number("2")]))
        for other: [UInt8] in [[0x0C], [0x0B], [0xC2, 0xA0], [0xEF, 0xBB, 0xBF]] {  // form feed, VT, NBSP, BOM
            #expect(parseError(other + Array("1".utf8)) != nil, "\(other) before a value")
            #expect(parseError(Array("1".utf8) + other) != nil, "\(other) after a value")
        }
    }

    @Test func literalsMustBeSpelledExactly() {
        for text in ["tru", "nul", "fals", "True", "NULL", "nulll", "t", "[true false]"] {
            #expect(parseError(text) != nil, "\(text)")
        }
        #expect(parseError("tru")?.message == "expected 'true'")
    }

    @Test func objectsKeepEveryPairInOrderAndLookUpTheFirst() throws {
        let value = try parse(#"{"b":1,"a":2,"b":3}"#)
        guard case let .object(pairs) = value else { Issue.record("not an object"); return }
        #expect(pairs.map(\.key) == ["b", "a", "b"])
        #expect(value["b"] == .number("1"))
        #expect(value["c"] == nil)
        #expect(JSON.array([])["b"] == nil)
    }

    @Test func structuralErrorsAreRejected() {
        for text in ["[1,]", #"{"a":1,}"#, "{,}", "[,1]", #"{"a" 1}"#, "{1:2}", "{'a':1}", "[1 2]", "[1", #"{"a":"#,
                     #"{"a""#, "{", "]", "}", ":", ",", #"{"a":1 "b":2}"#, "[1:2]", #"{"a"}"#, "/* */1", "1 // c"] {
            #expect(parseError(text) != nil, "\(text)")
        }
    }

    @Test func emptyInputIsNotAValue() {
        #expect(parseError("") == JSONParseError(offset: 0, line: 1, column: 1, message: "unexpected end of input"))
        #expect(parseError(" \n ")?.offset == 3)
    }

    @Test func trailingTextIsRejectedButTrailingWhitespaceIsNot() throws {
        for text in ["1 2", "{} x", "[]]", "nullx", "truee", #""a""b""#, "{}{}", "0 0", "[],"] {
            #expect(parseError(text)?.message == "unexpected text after the JSON value", "\(text)")
        }
        #expect(parseError(Array("{}".utf8) + [0])?.offset == 2)
        #expect(try parse("{} \n\t\r") == .object([]))
    }

    @Test func theArrayAndTheBufferEntryPointsAgree() throws {
        let bytes = Array(#"{"a":[1,"x"]}"#.utf8)
        let fromBuffer = try bytes.withUnsafeBytes { try JSON.parse($0) }
        #expect(fromBuffer == (try JSON.parse(bytes)))
        // A slice of a larger buffer: offsets count from the slice's start.
        let padded = Array("xx[1,]yy".utf8)
        let sliceError = padded.withUnsafeBytes { raw -> JSONParseError? in
            do { _ = try JSON.parse(UnsafeRawBufferPointer(rebasing: raw[2..<6])); return nil } catch { return error as? JSONParseError }
        }
        #expect(sliceError?.offset == 3)
    }
}

@Suite("JSON strings")
struct StringTests {
    @Test func everyEscapeDecodes() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try parse(#""a\u0041\u00e9\u00E9\u20AC\u0000z""#) == .string("aAéé€\u{0}z"))
        #expect(try parse(#""\u0041\u0042""#) == .string("AB"))
    }

    @Test func surrogatePairsJoinIntoOneScalar() throws {
        #expect(try parse(#""\uD83D\uDE00""#) == .string("\u{1F600}"))
        #expect(try parse(#""\ud83d\ude00x""#) == .string("\u{1F600}x"))
        #expect(try parse(#""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
        #expect(try parse(#""\uD800\uDC00""#) == .string("\u{10000}"))
    }

    @Test func loneSurrogatesAreRejectedAtTheirEscape() {
        let cases: [(String, Int)] = [
            (#""\uD800""#, 1), (#""\uDC00""#, 1), (#""ab\uDFFF""#, 3), (#""\uD800x""#, 1), (#""\uD800\u0041""#, 1),
            (#""\uD800\n""#, 1), (#""\uD83D\uD83D""#, 1), (#""\uDE00\uD83D""#, 1), (#""\uD800\"#, 1),
        ]
        for (text, offset) in cases {
            let error = parseError(text)
            #expect(error?.offset == offset, "\(text)")
            #expect(error?.message.hasPrefix("lone surrogate") == true, "\(text): \(String(describing: error))")
        }
    }

    @Test func malformedEscapesAreRejected() {
        for text in [#""\x""#, #""\U0041""#, #""\u12G4""#, #""\u12""#, #""\u"#, #""\"#, #""\'""#, #""\a""#, #""\0""#] {
            #expect(parseError(text) != nil, "\(text)")
        }
        #expect(parseError(#""ab\q""#) == JSONParseError(offset: 3, line: 1, column: 4, message: #"invalid escape '\q' in a string"#))
    }

    @Test func controlCharactersMustBeEscaped() throws {
        for byte: UInt8 in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] {
            let error = parseError(quotedBytes([UInt8(ascii: "a"), byte]))
            #expect(error?.offset == 2, "byte \(byte)")
            #expect(error?.message.hasPrefix("control character") == true, "byte \(byte)")
        }
        // DEL and everything above U+001F except '"' and '\' may appear as they are.
        #expect(try JSON.parse(quotedBytes([0x7F, 0x20])) == .string("\u{7F} "))
    }

    @Test func wellFormedUTF8IsKept() throws {
        let text = "é€😀 \u{10FFFF}\u{FEFF}"
        #expect(try JSON.parse(quotedBytes(Array(text.utf8))) == .string(text))
        #expect(try parse(#"{"ключ":"值"}"#) == .object([("ключ", .string("值"))]))
    }

    @Test func invalidUTF8IsRejectedAtItsFirstByte() {
        let malformed: [[UInt8]] = [
            [0xFF], [0xFE], [0x80], [0xBF],  // never valid; lone continuation bytes
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80],  // overlong forms
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],  // UTF-16 surrogates encoded directly
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],  // above U+10FFFF
            [0xE2, 0x82], [0xC3], [0xF0, 0x9F, 0x98],  // truncated before the closing quote
            [0xC3, 0x41], [0xE2, 0x41, 0xAC],  // a continuation byte replaced by ASCII
        ]
        for sequence in malformed {
            let error = parseError(quotedBytes([UInt8(ascii: "a")] + sequence + [UInt8(ascii: "b")]))
            #expect(error == JSONParseError(offset: 2, line: 1, column: 3, message: "invalid UTF-8 in a string"), "\(sequence)")
        }
        // In keys too, and after escapes.
        #expect(parseError([UInt8(ascii: "{")] + quotedBytes([0xFF]) + Array(":1}".utf8))?.offset == 2)
        #expect(parseError(quotedBytes(Array(#"\n"#.utf8) + [0xC3]))?.offset == 3)
        // Outside a string a non-ASCII byte is simply unexpected.
        #expect(parseError([0xC3, 0xA9])?.message == "unexpected byte 0xC3, expected a value")
    }

    @Test func unterminatedStringsAreRejected() {
        for text in [#"""#, #""abc"#, #"["a]"#, #"{"a"#] {
            #expect(parseError(text)?.message == "unterminated string", "\(text)")
        }
    }
}

@Suite("JSON numbers")
struct NumberTests {
    @Test func numbersKeepTheirLiteralText() throws {
        for text in ["0", "-0", "7", "-12", "10", "1.5", "-0.25", "0.000", "1e5", "1E+5", "1e-5", "0e0", "-0E-0",
                     "1.5e10", "12345678901234567890", "1.00000000000000000000001", "123456789012345678901234567890e-30"] {
            #expect(try parse(text) == .number(text), "\(text)")
            #expect(try parse("[\(text)]") == .array([.number(text)]), "[\(text)]")
        }
    }

    @Test func theRFCGrammarIsEnforced() {
        let cases: [(String, String)] = [
            ("01", "leading zero in a number"), ("-01", "leading zero in a number"), ("00", "leading zero in a number"),
            ("1.", "expected a digit after '.' in a number"), ("1.e5", "expected a digit after '.' in a number"),
            (".5", "unexpected '.', expected a value"), ("+1", "unexpected '+', expected a value"),
            ("1e", "expected a digit in the exponent in a number"), ("1e+", "expected a digit in the exponent in a number"),
            ("1E-x", "expected a digit in the exponent in a number"), ("-", "expected a digit after '-' in a number"),
            ("--1", "expected a digit after '-' in a number"), ("-.5", "expected a digit after '-' in a number"),
        ]
        for (text, message) in cases {
            #expect(parseError(text)?.message == message, "\(text)")
            #expect(parseError("[\(text)]") != nil, "[\(text)]")
        }
        for text in ["0x10", "Infinity", "-Infinity", "NaN", "1_000", "1,5", "١"] {
            #expect(parseError(text) != nil, "\(text)")
        }
    }

    @Test func exactIntegersFitAnIntAndHaveNoFractionOrExponent() throws {
        #expect(try parse("42").exactInteger == 42)
        #expect(try parse("-7").exactInteger == -7)
        #expect(try parse("-0").exactInteger == 0)
        #expect(try parse("9223372036854775807").exactInteger == Int.max)
        #expect(try parse("-9223372036854775808").exactInteger == Int.min)
        for text in ["9223372036854775808", "12345678901234567890", "1.0", "1e2", "2.5", #""1""#, "null", "[1]"] {
            #expect(try parse(text).exactInteger == nil, "\(text)")
        }
    }

    @Test func doublesAreTheNearestValue() throws {
        #expect(try parse("1.5").doubleValue == 1.5)
        #expect(try parse("-2e-3").doubleValue == -0.002)
        #expect(try parse("12345678901234567890").doubleValue == 12345678901234567890.0)
        #expect(try parse("0.1").doubleValue == 0.1)
        #expect(try parse("1e400").doubleValue == .infinity)
        #expect(try parse("-0").doubleValue?.sign == .minus)
        #expect(try parse(#""1""#).doubleValue == nil)
        // Equality is by text: the same quantity written twice is two values.
        #expect(JSON.number("1.0") != JSON.number("1"))
    }
}

@Suite("JSON object keys")
struct KeyTests {
    @Test func canonicallyEquivalentKeysStayApart() throws {
        // Ohm sign U+2126 and capital omega U+03A9; precomposed é and e + combining acute.
        let value = try parse(#"{"\u2126":1,"\u03a9":2,"\u00e9":3,"e\u0301":4}"#)
        guard case let .object(pairs) = value else { Issue.record("not an object"); return }
        #expect(pairs.map { $0.key.unicodeScalars.map(\.value) } == [[0x2126], [0x3A9], [0xE9], [0x65, 0x301]])
        #expect(value["\u{2126}"] == .number("1"))
        #expect(value["\u{3A9}"] == .number("2"))
        #expect(value["\u{E9}"] == .number("3"))
        #expect(value["e\u{301}"] == .number("4"))
        #expect(JSON.string("\u{2126}") != JSON.string("\u{3A9}"))
        #expect(JSON.object([("\u{2126}", .null)]) != JSON.object([("\u{3A9}", .null)]))
    }

    @Test func escapedAndLiteralSpellingsOfAKeyAreTheSameKey() throws {
        let value = try parse("{\"\\u2126\":1,\"\u{2126}\":2}")
        guard case let .object(pairs) = value else { Issue.record("not an object"); return }
        #expect(pairs.allSatisfy { $0.key.unicodeScalars.elementsEqual("\u{2126}".unicodeScalars) })
        #expect(value["\u{2126}"] == .number("1"))
    }
}

@Suite("JSON nesting limit")
struct NestingTests {
    static func arrays(_ depth: Int, around inner: String = "") -> String {
        String(repeating: "[", count: depth) + inner + String(repeating: "]", count: depth)
    }

    @Test func theDefaultLimitIsSixtyFourLevels() throws {
        #expect(JSON.defaultMaximumDepth == 64)
        _ = try parse(Self.arrays(64))
        _ = try parse(Self.arrays(63, around: "1"))
        let error = parseError(Self.arrays(65))
        #expect(error == JSONParseError(offset: 64, line: 1, column: 65, message: "JSON nested deeper than 64 levels"))
        #expect(parseError(Self.arrays(64, around: "1"))?.offset == 64)
    }

    @Test func objectsAndArraysBothCount() throws {
        _ = try parse(#"{"a":[{"b":[]}]}"#, maximumDepth: 4)
        #expect(parseError(#"{"a":[{"b":[1]}]}"#, maximumDepth: 4)?.message == "JSON nested deeper than 4 levels")
        #expect(parseError(#"{"a":{"b":{}}}"#, maximumDepth: 2)?.offset == 10)
        _ = try parse("1", maximumDepth: 1)
        #expect(parseError("[1]", maximumDepth: 1) != nil)
    }

    @Test func hostileDepthIsAnErrorNotACrash() {
        #expect(parseError(Self.arrays(100_000))?.offset == 64)
        #expect(parseError(String(repeating: #"{"a":"#, count: 100_000))?.message == "JSON nested deeper than 64 levels")
    }
}

@Suite("JSON error positions")
struct ErrorPositionTests {
    @Test func offsetLineAndColumnPointAtTheOffendingByte() {
        let text = "{\n  \"a\": 1,\n  \"b\" 2\n}"
        let error = parseError(text)
        #expect(error == JSONParseError(offset: 18, line: 3, column: 7, message: "expected ':' after an object key"))
        #expect(error?.description == "line 3, column 7: expected ':' after an object key")
        #expect(parseError("[1,]") == JSONParseError(offset: 3, line: 1, column: 4, message: "unexpected ']', expected a value"))
    }

    @Test func columnsCountBytesAndLinesEndAtLineFeeds() {
        // "é" is two bytes, so the trailing x is byte 5, column 6.
        #expect(parseError(#""é" x"#).map { [$0.offset, $0.line, $0.column] } == [5, 1, 6])
        // A carriage return alone does not end a line; CRLF ends one.
        #expect(parseError("[1,\r2,\r\n3,\n]").map { [$0.offset, $0.line, $0.column] } == [11, 3, 1])
    }

    @Test func errorsAtTheEndPointJustPastTheLastByte() {
        #expect(parseError("[1,\n2") == JSONParseError(offset: 5, line: 2, column: 2, message: "expected ',' or ']' in an array"))
        #expect(parseError(#"{"a":1"#) == JSONParseError(offset: 6, line: 1, column: 7, message: "expected ',' or '}' in an object"))
        #expect(parseError("[1,") == JSONParseError(offset: 3, line: 1, column: 4, message: "unexpected end of input"))
    }
}

@Suite("JSON string literals written")
struct QuotedTests {
    @Test func escapesAsSerdeJSONDoes() {
        #expect(JSON.quoted("a\"b\\c\nd\re\tf\u{08}g\u{0C}h\u{01}i\u{1F}") == #""a\"b\\c\nd\re\tf\bg\fh\u0001i\u001f""#)
        #expect(JSON.quoted("é 中 🤗 \u{7F}") == "\"é 中 🤗 \u{7F}\"")
    }

    @Test func everyScalarReadsBackAsWritten() throws {
        let text = String(String.UnicodeScalarView((0..<0x80).compactMap(Unicode.Scalar.init) + ["é", "\u{2028}", "🤗"]))
        #expect(try JSON.parse(Array(JSON.quoted(text).utf8)) == .string(text))
    }
}
