import Foundation
import Testing
@testable import Tokenizer

/// Every sentence of CoNLL-2003 in word mode against Fixtures/conll2003_hashes.txt, which holds
/// hashes of BertTokenizerFast's ids and word ids (made by Scripts/make_tokenizer_fixtures.py) but
/// not the corpus, which must be at ../shared/data/conll2003 beside the package.
@Suite("HuggingFace parity on CoNLL-2003")
struct CoNLLParityTests {
    static let corpusPresent = FileManager.default.fileExists(
        atPath: Paths.corpus.appendingPathComponent("train.txt").path)

    struct Sentence {
        var words: [String]
        var firstLine: Int
    }

    /// The first column of each line; `-DOCSTART-` lines and blank lines end sentences, as the script reads them.
    static func sentences(in url: URL) throws -> [Sentence] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var result: [Sentence] = []
        var current = Sentence(words: [], firstLine: 0)
        var lineNumber = 0
        text.enumerateLines { line, _ in
            lineNumber += 1
            let first = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).first
            if let word = first, word != "-DOCSTART-" {
                if current.words.isEmpty { current.firstLine = lineNumber }
                current.words.append(String(word))
            } else if first == nil, !current.words.isEmpty {
                result.append(current)
                current = Sentence(words: [], firstLine: 0)
            }
        }
        if !current.words.isEmpty { result.append(current) }
        return result
    }

    static func expectedHashes() throws -> [String: [(ids: UInt64, wordIDs: UInt64)]] {
        let text = try String(contentsOf: Paths.fixture("conll2003_hashes.txt"), encoding: .utf8)
        var splits: [String: [(ids: UInt64, wordIDs: UInt64)]] = [:]
        var counts: [String: Int] = [:]
        var current = ""
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            if fields[0] == "split" {
                current = String(fields[1])
                counts[current] = Int(fields[2])!
                splits[current] = []
            } else {
                splits[current]!.append((UInt64(fields[0], radix: 16)!, UInt64(fields[1], radix: 16)!))
            }
        }
        for (split, count) in counts { precondition(splits[split]!.count == count, "fixture \(split) is truncated") }
        return splits
    }

    @Test("word-mode ids and word ids equal BertTokenizerFast for every sentence",
          .enabled(if: corpusPresent, "no CoNLL-2003 at \(Paths.corpus.path)/{train,dev,test}.txt"),
          arguments: ["train", "dev", "test"])
    func split(_ name: String) throws {
        let expected = try #require(try Self.expectedHashes()[name])
        let file = Paths.corpus.appendingPathComponent("\(name).txt")
        let sentences = try Self.sentences(in: file)
        try #require(sentences.count == expected.count,
                     "\(file.path) has \(sentences.count) sentences, the fixture \(expected.count)")
        let tokenizer = try Models.uncased()
        var mismatches: [String] = []
        for (sentence, hashes) in zip(sentences, expected) {
            let encoding = tokenizer.encode(words: sentence.words)
            let wordIDs = encoding.wordIDs.map { Int32($0 ?? -1) }
            if fnv1a64(int32s: encoding.ids) != hashes.ids || fnv1a64(int32s: wordIDs) != hashes.wordIDs {
                mismatches.append("\(file.lastPathComponent):\(sentence.firstLine) words \(sentence.words) -> ids \(encoding.ids)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) sentences differ from HF; first ones:\n\(mismatches.prefix(5).joined(separator: "\n"))")
    }
}
