import Foundation
import Testing
import Tokenizer

/// Inputs the fuzz targets (Fuzz/) found a fault with, kept in Fuzz/Regressions/<target>/.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions")

    /// The error loading the fixture as a tokenizer.json throws (nil when it loads).
    static func tokenizerJSONError(_ name: String) throws -> (path: String, error: TokenizerError?) {
        let url = folder.appendingPathComponent("tokenizer-json/" + name)
        do {
            _ = try BertTokenizer(tokenizerJSON: try Data(contentsOf: url), path: url.path)
            return (url.path, nil)
        } catch let error as TokenizerError {
            return (url.path, error)
        }
    }

    @Test func aNegativeAddedTokenIdIsRefusedNotEmittedIntoEncodings() throws {
        let (path, error) = try Self.tokenizerJSONError("negative-added-token-id.json")
        #expect(error == .invalidValue(path: path, keyPath: "added_tokens[1].id", expected: "a non-negative id"))
    }

    @Test func aNegativeSeparatorIdIsRefused() throws {
        let (path, error) = try Self.tokenizerJSONError("negative-separator-id.json")
        #expect(error == .invalidValue(path: path, keyPath: "post_processor.sep[1]", expected: "a non-negative id"))
    }

    @Test func aClassifierIdBeyondTheVocabularyIsRefusedInsteadOfCrashing() throws {
        let (path, error) = try Self.tokenizerJSONError("classifier-id-beyond-vocabulary.json")
        #expect(error == .invalidValue(path: path, keyPath: "post_processor",
                                       expected: "a [CLS] id that the vocabulary or the added tokens hold (found 500, beyond the largest id 4)"))
    }
}
