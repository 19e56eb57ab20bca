import Foundation
import Testing
import Tokenizer

/// The fuzz targets' seeds (Fuzz/Corpus/{tokenizer-json,vocab-txt,tokenizer-config,tokenizer-text}, written by
/// Fuzz/make-seeds.py): valid-* load, invalid-* are refused with a `TokenizerError` naming the file, and the text
/// seeds encode with offsets inside their text.
@Suite("Fuzz seed corpus")
struct SeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus")

    static func seeds(_ target: String) throws -> [(name: String, bytes: Data)] {
        let folder = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(!names.isEmpty)
        return try names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) }
    }

    static func check(_ name: String, _ load: () throws -> BertTokenizer) {
        do {
            let tokenizer = try load()
            #expect(name.hasPrefix("valid-"), "\(name) loaded")
            #expect(tokenizer.encode("Hello, world!").ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
        } catch let error as TokenizerError {
            #expect(name.hasPrefix("invalid-"), "\(name): \(error)")
            #expect(error.description.contains(name), "\(error)")
        } catch {
            Issue.record("\(name): \(type(of: error)) \(error)")
        }
    }

    static var vocabulary: Data { get throws { try Data(contentsOf: corpus.appendingPathComponent("vocab-txt/valid-small")) } }

    @Test func tokenizerJSONSeedsLoadOrAreRefused() throws {
        for seed in try Self.seeds("tokenizer-json") {
            Self.check(seed.name) { try BertTokenizer(tokenizerJSON: seed.bytes, path: seed.name) }
        }
    }

    @Test func vocabTXTSeedsLoadOrAreRefused() throws {
        for seed in try Self.seeds("vocab-txt") {
            Self.check(seed.name) {
                try BertTokenizer(vocabTXT: seed.bytes, path: seed.name, configuration: BertTokenizerConfiguration())
            }
        }
    }

    @Test func tokenizerConfigSeedsLoadOrAreRefused() throws {
        let vocabulary = try Self.vocabulary
        for seed in try Self.seeds("tokenizer-config") {
            Self.check(seed.name) {
                let configuration = try BertTokenizerConfiguration(tokenizerConfig: seed.bytes, path: seed.name)
                return try BertTokenizer(vocabTXT: vocabulary, path: "vocab.txt", configuration: configuration)
            }
        }
    }

    @Test func textSeedsEncodeWithOffsetsInsideTheirText() throws {
        let vocabulary = try Self.vocabulary
        for seed in try Self.seeds("tokenizer-text") {
            let bits = seed.bytes.first ?? 0
            let configuration = BertTokenizerConfiguration(cleanText: bits & 4 != 0, handleChineseChars: bits & 8 != 0,
                                                           stripAccents: bits & 2 != 0, lowercase: bits & 1 != 0)
            let tokenizer = try BertTokenizer(vocabTXT: vocabulary, path: "vocab.txt", configuration: configuration)
            let text = String(decoding: seed.bytes.dropFirst(), as: UTF8.self)
            let encoding = tokenizer.encode(text)
            #expect(encoding.count > 2, "\(seed.name)")
            #expect(encoding.offsets.allSatisfy { $0.upperBound <= text.unicodeScalars.count }, "\(seed.name)")
        }
    }
}
