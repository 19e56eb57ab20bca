import Foundation
import Testing
@testable import Tokenizer

/// One case of Fixtures/hard_strings.json (made by Scripts/make_tokenizer_fixtures.py).
struct HardStringCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Expected: Decodable, Sendable {
        var ids: [Int32]
        var tokens: [String]
        var offsets: [[Int]]
        var word_ids: [Int?]

        var encoding: Encoding {
            Encoding(ids: ids, tokens: tokens, offsets: offsets.map { $0[0]..<$0[1] }, wordIDs: word_ids)
        }
    }

    var normalizer: String
    var text: String
    var text_mode: Expected
    var words: [String]
    var word_mode: Expected

    var testDescription: String {
        let shown = text.unicodeScalars.prefix(40).map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }
        return "\(normalizer): \"\(shown.joined())\(text.unicodeScalars.count > 40 ? "…" : "")\""
    }

    func tokenizer() throws -> BertTokenizer { try normalizer == "cased" ? Models.cased() : Models.uncased() }

    static let all: [HardStringCase] = {
        struct File: Decodable { var cases: [HardStringCase] }
        let data = try! Data(contentsOf: Paths.fixture("hard_strings.json"))
        return try! JSONDecoder().decode(File.self, from: data).cases
    }()
}

/// Pins the first difference, so a failure says which token went wrong rather than dumping two arrays.
func firstDifference(_ actual: Encoding, _ expected: Encoding) -> String? {
    if actual == expected { return nil }
    for i in 0..<max(actual.count, expected.count) {
        let a = i < actual.count ? "\(actual.tokens[i]) id \(actual.ids[i]) \(actual.offsets[i]) word \(String(describing: actual.wordIDs[i]))" : "nothing"
        let e = i < expected.count ? "\(expected.tokens[i]) id \(expected.ids[i]) \(expected.offsets[i]) word \(String(describing: expected.wordIDs[i]))" : "nothing"
        if a != e { return "token \(i): got \(a), HF has \(e)" }
    }
    return "encodings differ"
}

@Suite("HuggingFace parity on hard strings")
struct HardStringsTests {
    @Test("text mode equals tokenizer(text, return_offsets_mapping=True)", arguments: HardStringCase.all)
    func textMode(_ example: HardStringCase) throws {
        let actual = try example.tokenizer().encode(example.text)
        #expect(firstDifference(actual, example.text_mode.encoding) == nil)
    }

    @Test("word mode equals tokenizer(words, is_split_into_words=True)", arguments: HardStringCase.all)
    func wordMode(_ example: HardStringCase) throws {
        let actual = try example.tokenizer().encode(words: example.words)
        #expect(firstDifference(actual, example.word_mode.encoding) == nil)
    }

    @Test("vocab.txt with tokenizer_config.json tokenizes as tokenizer.json does")
    func vocabFallbackMatchesTokenizerJSON() throws {
        let directory = try TemporaryDirectory()
        for name in ["vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: Paths.model.appendingPathComponent(name),
                                             to: directory.url.appendingPathComponent(name))
        }
        let fallback = try BertTokenizer(directory: directory.url)
        #expect(fallback.configuration.lowercase && fallback.configuration.stripAccents == nil)
        for example in HardStringCase.all where example.normalizer == "uncased" {
            #expect(firstDifference(fallback.encode(example.text), example.text_mode.encoding) == nil, "\(example)")
            #expect(firstDifference(fallback.encode(words: example.words), example.word_mode.encoding) == nil, "\(example)")
        }
    }
}
