import Foundation
import Testing

/// The default encoder's directory; Scripts/setup.sh fetches it.
private let modelDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("models/all-MiniLM-L6-v2").path

private func lines(_ text: String) -> [String] { text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

@Suite("bert-tagger tokenize")
struct TokenizeCommandTests {
    @Test func textLinesBecomeJSONWithTokensIdsAndOffsets() throws {
        let result = try Binary.run(["tokenize", "--model", modelDirectory], stdin: "Hello, world!\n\nStraße \"q\"\\\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(lines(result.stdout) == [
            #"{"tokens": ["[CLS]", "hello", ",", "world", "!", "[SEP]"], "ids": [101, 7592, 1010, 2088, 999, 102], "offsets": [[0, 0], [0, 5], [5, 6], [7, 12], [12, 13], [0, 0]]}"#,
            #"{"tokens": ["[CLS]", "[SEP]"], "ids": [101, 102], "offsets": [[0, 0], [0, 0]]}"#,
            ###"{"tokens": ["[CLS]", "st", "##raße", "\"", "q", "\"", "\\", "[SEP]"], "ids": [101, 2358, 27807, 1000, 1053, 1000, 1032, 102], "offsets": [[0, 0], [0, 2], [2, 6], [7, 8], [8, 9], [9, 10], [10, 11], [0, 0]]}"###,
            "",
        ])
    }

    @Test func wordsModeAddsWordIDsWithNullForSpecialTokens() throws {
        let input = #"{"words": ["New York", "İs", "\u200b", "fine"]}"# + "\r\n"
        let result = try Binary.run(["tokenize", "--model", modelDirectory, "--words"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == #"{"tokens": ["[CLS]", "new", "york", "is", "fine", "[SEP]"], "ids": [101, 2047, 2259, 2003, 2986, 102], "offsets": [[0, 0], [0, 3], [4, 8], [0, 2], [0, 4], [0, 0]], "word_ids": [null, 0, 0, 1, 3, null]}"# + "\n")
    }

    @Test func noSpecialTokensLeavesOutClsAndSep() throws {
        let result = try Binary.run(["tokenize", "--model", modelDirectory, "--no-special-tokens"], stdin: "hi")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == #"{"tokens": ["hi"], "ids": [7632], "offsets": [[0, 2]]}"# + "\n")
    }

    @Test func aMalformedWordsLineNamesItsLineNumber() throws {
        let input = "{\"words\": [\"ok\"]}\n{\"words\": \"not a list\"}\n{\"words\": [\"never\"]}\n"
        let result = try Binary.run(["tokenize", "--model", modelDirectory, "--words"], stdin: input)
        #expect(result.status != 0)
        #expect(result.stderr.contains("stdin line 2: expected a JSON object like {\"words\": [\"New\", \"York\"]}"), "\(result.stderr)")
        #expect(result.stderr.contains("words must be a list of strings"), "\(result.stderr)")
        #expect(lines(result.stdout).count == 2, "the line before the bad one is still answered")
    }

    @Test func notJSONAtAllIsReportedToo() throws {
        let result = try Binary.run(["tokenize", "--model", modelDirectory, "--words"], stdin: "New York\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("stdin line 1:") && result.stderr.contains("not valid JSON"), "\(result.stderr)")
    }

    @Test func aMissingModelDirectoryIsNamed() throws {
        let result = try Binary.run(["tokenize", "--model", "/nonexistent/model"], stdin: "x\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/model: no such model directory"), "\(result.stderr)")
    }

    @Test func aModelDirectoryWithoutTokenizerFilesIsNamed() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tokenize-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let result = try Binary.run(["tokenize", "--model", empty.path], stdin: "x\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(empty.path): no tokenizer.json and no vocab.txt"), "\(result.stderr)")
    }

    @Test func helpDescribesEveryOption() throws {
        let result = try Binary.run(["tokenize", "--help"])
        #expect(result.status == 0)
        // Lines wrap at the terminal width, so each phrase checked fits on one line.
        for text in ["--model <model>", "Model directory holding tokenizer.json", "models/all-MiniLM-L6-v2)",
                     "--words", "Read {\"words\": [...]} lines", "--no-special-tokens", "Leave out [CLS] and [SEP]."] {
            #expect(result.stdout.contains(text), "help lacks \(text)")
        }
    }
}
