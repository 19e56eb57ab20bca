import ArgumentParser
import Foundation
import Tokenizer

/// `bert-tagger tokenize`: the model's tokenizer as a filter, one JSON object out per line in.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize stdin with a model's tokenizer (identical to HuggingFace's BertTokenizerFast).",
        discussion: """
            Reads one text per line and writes one JSON object per line: \
            {"tokens": [...], "ids": [...], "offsets": [[start, end], ...]}. Offsets count Unicode scalars \
            (as Python indexes strings); [CLS] and [SEP] are included, with offsets [0, 0]. \
            With --words, reads {"words": [...]} lines instead, tokenizes the words as pre-split \
            (offsets count within each word) and adds "word_ids" (null for [CLS] and [SEP]).
            """
    )

    @Option(help: "Model directory holding tokenizer.json, or vocab.txt with tokenizer_config.json.")
    var model = "models/all-MiniLM-L6-v2"

    @Flag(help: "Read {\"words\": [...]} lines of pre-split words and add \"word_ids\" to the output.")
    var words = false

    @Flag(name: .customLong("no-special-tokens"), help: "Leave out [CLS] and [SEP].")
    var noSpecialTokens = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private struct WordsLine: Decodable {
        var words: [String]
    }

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Failure(description: "\(directory.path): no such model directory; pass --model DIR "
                + "(Scripts/setup.sh fetches the default, models/all-MiniLM-L6-v2).")
        }
        let tokenizer = try BertTokenizer(directory: directory)
        let output = FileHandle.standardOutput
        let decoder = JSONDecoder()
        var lineNumber = 0
        var lines = LineReader(FileHandle.standardInput)
        while let bytes = try lines.next() {
            lineNumber += 1
            guard let line = String(bytes: bytes, encoding: .utf8) else {
                throw Failure(description: "stdin line \(lineNumber): not valid UTF-8.")
            }
            let encoding: Encoding
            if words {
                let parsed: WordsLine
                do {
                    parsed = try decoder.decode(WordsLine.self, from: Data(bytes))
                } catch {
                    throw Failure(description: "stdin line \(lineNumber): expected a JSON object like "
                        + "{\"words\": [\"New\", \"York\"]} (\(Self.reason(error))).")
                }
                encoding = tokenizer.encode(words: parsed.words, addSpecialTokens: !noSpecialTokens)
            } else {
                encoding = tokenizer.encode(line, addSpecialTokens: !noSpecialTokens)
            }
            output.write(Data(Self.json(encoding, wordIDs: words).utf8))
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no \"\(key.stringValue)\" key"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined()
            return path.isEmpty ? "not an object" : "\(path) must be a list of strings"
        default: return "not valid JSON"
        }
    }

    /// Hand-written so keys keep their documented order and each line is built in one pass.
    static func json(_ encoding: Encoding, wordIDs: Bool) -> String {
        var out = "{\"tokens\": ["
        for (i, token) in encoding.tokens.enumerated() {
            if i > 0 { out += ", " }
            appendQuoted(token, to: &out)
        }
        out += "], \"ids\": ["
        out += encoding.ids.map(String.init).joined(separator: ", ")
        out += "], \"offsets\": ["
        out += encoding.offsets.map { "[\($0.lowerBound), \($0.upperBound)]" }.joined(separator: ", ")
        out += "]"
        if wordIDs {
            out += ", \"word_ids\": ["
            out += encoding.wordIDs.map { $0.map(String.init) ?? "null" }.joined(separator: ", ")
            out += "]"
        }
        out += "}\n"
        return out
    }

    private static let stringEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// Appends `text` as a JSON string (Foundation escapes quotes, backslashes and control characters).
    private static func appendQuoted(_ text: String, to out: inout String) {
        out += (try? String(decoding: stringEncoder.encode(text), as: UTF8.self)) ?? "\"\\ufffd\""
    }
}

/// Lines of raw bytes from a file handle, as they arrive, so the tool works interactively and
/// invalid UTF-8 can be reported with its line number.
struct LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false

    init(_ handle: FileHandle) { self.handle = handle }

    /// The next line without its "\n" (or "\r\n"); nil at the end of input.
    mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[start..<newline])
                start = newline + 1
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return line
            }
            if finished {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.availableData
            if chunk.isEmpty { finished = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
