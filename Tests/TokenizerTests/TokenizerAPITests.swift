import Foundation
import Testing
@testable import Tokenizer

@Suite("vocabulary and special tokens")
struct VocabularyTests {
    @Test func defaultEncoderSpecialTokensAndSize() throws {
        let tokenizer = try Models.uncased()
        #expect((tokenizer.clsID, tokenizer.sepID, tokenizer.padID, tokenizer.unkID) == (101, 102, 0, 100))
        #expect(tokenizer.vocabularySize == 30522)
        #expect(tokenizer.id(of: "hello") == 7592)
        #expect(tokenizer.id(of: "##ing") == 2075)
        #expect(tokenizer.id(of: "[MASK]") == 103)
        #expect(tokenizer.id(of: "no-such-token") == nil)
        #expect(tokenizer.token(of: 7592) == "hello")
        #expect(tokenizer.token(of: -1) == nil && tokenizer.token(of: 30522) == nil)
    }

    @Test func withoutSpecialTokensThereIsNoClsOrSep() throws {
        let tokenizer = try Models.uncased()
        let encoding = tokenizer.encode("Hello world", addSpecialTokens: false)
        #expect(encoding.tokens == ["hello", "world"])
        #expect(encoding.wordIDs == [0, 1])
        #expect(tokenizer.encode(words: [], addSpecialTokens: false) == Encoding())
        #expect(tokenizer.encode(words: []).tokens == ["[CLS]", "[SEP]"])
    }

    @Test func canonicallyEquivalentTokensStayDistinct() throws {
        // Ohm sign U+2126 and capital omega U+03A9 are equal as Swift Strings but distinct tokens.
        let directory = try TemporaryDirectory()
        let file = try directory.write("tokenizer.json", """
            {"added_tokens": [], "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
             "strip_accents": false, "lowercase": false}, "pre_tokenizer": {"type": "BertPreTokenizer"},
             "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                       "max_input_chars_per_word": 100,
                       "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "\\u2126": 4, "\\u03a9": 5}}}
            """)
        let tokenizer = try BertTokenizer(tokenizerJSON: file)
        #expect(tokenizer.encode("\u{2126} \u{3A9}").ids == [2, 4, 5, 3])
        #expect(tokenizer.id(of: "\u{2126}") == 4 && tokenizer.id(of: "\u{3A9}") == 5)
    }

    @Test func oneTokenizerServesManyThreads() throws {
        let tokenizer = try Models.uncased()
        let texts = HardStringCase.all.map(\.text)
        let expected = texts.map { tokenizer.encode($0) }
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: texts.count)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: texts.count) { i in
            results[i] = tokenizer.encode(texts[i]) == expected[i]
        }
        #expect(results.allSatisfy { $0 })
    }
}

@Suite("WordPiece")
struct WordPieceTests {
    static func tokenizer(maxChars: Int = 100) throws -> BertTokenizer {
        let directory = try TemporaryDirectory()
        let vocab = try directory.write("vocab.txt", ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "aff", "##aff",
                                                       "##able", "##a", ",", "x"].joined(separator: "\n") + "\n")
        return try BertTokenizer(vocabTXT: vocab, configuration: BertTokenizerConfiguration(maxInputCharsPerWord: maxChars))
    }

    @Test func longestMatchFirstWithContinuationPrefix() throws {
        let encoding = try Self.tokenizer().encode("Unaffable, aff")
        #expect(encoding.tokens == ["[CLS]", "un", "##aff", "##able", ",", "aff", "[SEP]"])
        #expect(encoding.offsets == [0..<0, 0..<2, 2..<5, 5..<9, 9..<10, 11..<14, 0..<0])
        #expect(encoding.wordIDs == [nil, 0, 0, 0, 1, 2, nil])
    }

    @Test func aWordWithAnUnknownPieceBecomesOneUnknownToken() throws {
        let encoding = try Self.tokenizer().encode("unaffz x")
        #expect(encoding.tokens == ["[CLS]", "[UNK]", "x", "[SEP]"])
        #expect(encoding.offsets[1] == 0..<6)
    }

    @Test func aWordLongerThanTheLimitBecomesOneUnknownToken() throws {
        let tokenizer = try Self.tokenizer(maxChars: 5)
        #expect(tokenizer.encode("unaff").tokens == ["[CLS]", "un", "##aff", "[SEP]"])
        #expect(tokenizer.encode("unaffa").tokens == ["[CLS]", "[UNK]", "[SEP]"])
    }

    @Test func wordsNormalizingToNothingGiveNoTokensButKeepTheirIndex() throws {
        let encoding = try Self.tokenizer().encode(words: ["x", "\u{200B}", "", "un,x"])
        #expect(encoding.tokens == ["[CLS]", "x", "un", ",", "x", "[SEP]"])
        #expect(encoding.wordIDs == [nil, 0, 3, 3, 3, nil])
        #expect(encoding.offsets == [0..<0, 0..<1, 0..<2, 2..<3, 3..<4, 0..<0])
    }

    @Test func specialTokensInTheTextAreMatchedBeforeNormalization() throws {
        let encoding = try Self.tokenizer().encode("x[MASK]x [mask]")
        #expect(encoding.tokens == ["[CLS]", "x", "[MASK]", "x", "[UNK]", "[UNK]", "[UNK]", "[SEP]"])
        #expect(encoding.offsets[2] == 1..<7)
    }
}

@Suite("loading errors")
struct LoadingErrorTests {
    @Test func aDirectoryWithoutTokenizerFilesIsNamed() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: TokenizerError.noTokenizerFiles(directory: directory.url.path)) {
            try BertTokenizer(directory: directory.url)
        }
    }

    @Test func aMissingFileIsNamed() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/tokenizer.json")
        let error = try #require(throws: TokenizerError.self) { try BertTokenizer(tokenizerJSON: missing) }
        #expect(error == .unreadableFile(path: missing.path, reason: "no such file"))
        #expect(error.description.contains("/nonexistent/tokenizer.json"))
    }

    @Test func brokenJSONGivesLineAndColumn() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("tokenizer.json", "{\n  \"model\": {\"vocab\": {\"a\": 1,}}\n}")
        let error = try #require(throws: TokenizerError.self) { try BertTokenizer(tokenizerJSON: file) }
        guard case .invalidJSON(let path, let reason) = error else { Issue.record("\(error)"); return }
        #expect(path == file.path)
        #expect(reason.hasPrefix("line 2, column"))
    }

    @Test func otherModelsAreRefusedByKeyPath() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("tokenizer.json", #"{"model": {"type": "BPE", "vocab": {}}, "pre_tokenizer": null}"#)
        #expect(throws: TokenizerError.unsupported(path: file.path, keyPath: "model.type", found: "BPE", supported: "WordPiece")) {
            try BertTokenizer(tokenizerJSON: file)
        }
    }

    @Test func aWrongValueTypeNamesItsKeyPath() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("tokenizer.json", """
            {"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": "zero"}},
             "pre_tokenizer": {"type": "BertPreTokenizer"}}
            """)
        #expect(throws: TokenizerError.invalidValue(path: file.path, keyPath: "model.vocab.[UNK]", expected: "an integer")) {
            try BertTokenizer(tokenizerJSON: file)
        }
    }

    @Test func aVocabularyWithoutTheUnknownTokenIsRefused() throws {
        let directory = try TemporaryDirectory()
        let vocab = try directory.write("vocab.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n")
        let error = try #require(throws: TokenizerError.self) {
            try BertTokenizer(vocabTXT: vocab, configuration: BertTokenizerConfiguration())
        }
        #expect(error == .missingToken(path: vocab.path, token: "[UNK]", role: "unknown"))
        #expect(error.description.contains("\"[UNK]\" is not in the vocabulary"))
    }

    @Test func tokenizerConfigSettingsAreRead() throws {
        let directory = try TemporaryDirectory()
        try directory.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHello\nhello\n")
        try directory.write("tokenizer_config.json", #"{"do_lower_case": false, "unk_token": {"content": "[UNK]"}}"#)
        let tokenizer = try BertTokenizer(directory: directory.url)
        #expect(!tokenizer.configuration.lowercase && !tokenizer.configuration.stripsAccents)
        #expect(tokenizer.encode("Hello hello").ids == [2, 5, 6, 3])
    }
}
