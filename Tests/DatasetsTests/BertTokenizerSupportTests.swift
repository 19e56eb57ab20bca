import Foundation
import Testing
import Tokenizer
@testable import Datasets

@Suite(.enabled(if: defaultModelFolder != nil, defaultModelMissing))
struct BertTokenizerSupportTests {
    var tokenizer: BertTokenizer { get throws { try BertTokenizer(directory: defaultModelFolder!) } }

    @Test func aWordOfOnlyZeroWidthCharactersBecomesOneUnknownPiece() throws {
        let tokenizer = try tokenizer
        var encoder = SentenceEncoder(tokenizer: tokenizer)
        let encoded = try encoder.encode(Sentence(words: ["Peter", "\u{200B}", "Blackburn", "\u{0007}\u{200D}"]))
        #expect(tokenizer.encode(words: ["\u{200B}"], addSpecialTokens: false).ids.isEmpty)
        #expect(encoded.wordCount == 4)
        #expect(encoded.pieceIDs[Int(encoded.wordStarts[1])] == tokenizer.unkID)
        #expect(encoded.pieces(ofWord: 1).count == 1 && encoded.pieces(ofWord: 3).count == 1)
        #expect(encoded.emptyWordCount == 2)
    }

    @Test func readsTheMaximumLengthFromConfig() throws {
        #expect(try maximumSequenceLength(modelDirectory: defaultModelFolder!) == 512)
        let error = datasetError { _ = try maximumSequenceLength(modelDirectory: URL(fileURLWithPath: "/nonexistent")) }
        guard case let .unreadable(file, _) = error else {
            Issue.record("expected .unreadable")
            return
        }
        #expect(file == "/nonexistent/config.json")
    }

    @Test func aConfigWithoutMaxPositionEmbeddingsNamesTheKey() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"hidden_size": 384}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        let error = datasetError { _ = try maximumSequenceLength(modelDirectory: folder) }
        #expect(error == .invalidModelConfig(file: folder.appendingPathComponent("config.json").path, key: "max_position_embeddings", problem: "missing"))
    }

    @Test(.enabled(if: conll2003Folder != nil, conll2003Missing))
    func encodingWordByWordGivesTheSamePiecesAsWholeSentences() throws {
        let tokenizer = try tokenizer
        let corpus = try CoNLLReader().read(contentsOf: conll2003Folder!.appendingPathComponent("dev.txt"))
        var encoder = SentenceEncoder(tokenizer: tokenizer)
        for sentence in corpus.sentences {
            let encoded = try encoder.encode(sentence)
            let whole = tokenizer.encode(words: sentence.words, addSpecialTokens: false)
            #expect(encoded.pieceIDs == whole.ids, "sentence at line \(sentence.line)")
            #expect(encoded.pieceWords == whole.wordIDs.map { $0! }, "sentence at line \(sentence.line)")
        }
    }

    @Test(.enabled(if: conll2003Folder != nil, conll2003Missing))
    func trainHasTheSamePieceCountAsHuggingFaceAndNeedsNoWindows() throws {
        let corpus = try CoNLLReader().read(contentsOf: conll2003Folder!.appendingPathComponent("train.txt"))
        let data = try TokenClassificationDataset(corpus: corpus, tokenizer: try tokenizer, labels: try LabelSet(collecting: corpus),
                                                  windowing: Windowing(maxLength: 512))
        // tokenizers 0.23, encode_batch(words, is_pretokenized=True, add_special_tokens=False) over train.
        #expect(data.encoded.reduce(0) { $0 + $1.pieceCount } == 252_043)
        #expect(data.encoded.allSatisfy { $0.emptyWordCount == 0 })
        #expect(data.windows.count == 14_041)
    }
}
