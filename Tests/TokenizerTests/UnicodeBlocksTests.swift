import Foundation
import Testing
@testable import Tokenizer

/// Every code point, through both normalizer configurations, against Fixtures/unicode_blocks.txt
/// (made by Scripts/make_tokenizer_fixtures.py from HF's BertNormalizer and BertPreTokenizer).
@Suite("HuggingFace parity on every code point")
struct UnicodeBlocksTests {
    struct Block: Sendable {
        var normalizer: String
        var start: UInt32
        var normalizedHash: UInt64
        var piecesHash: UInt64
    }

    static let blocks: [Block] = {
        let text = try! String(contentsOf: Paths.fixture("unicode_blocks.txt"), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: " ")
            return Block(normalizer: String(fields[0]), start: UInt32(fields[1], radix: 16)!,
                         normalizedHash: UInt64(fields[2], radix: 16)!, piecesHash: UInt64(fields[3], radix: 16)!)
        }
    }()

    static let blockSize: UInt32 = 4096

    @Test func fixtureCoversAllOfUnicodeForBothNormalizers() {
        #expect(Self.blocks.count == 2 * 0x110000 / Int(Self.blockSize))
    }

    @Test("normalized text and pre-tokenizer pieces equal HF's", arguments: ["uncased", "cased"])
    func blocksMatch(_ normalizerName: String) {
        let configuration = normalizerName == "cased"
            ? BertTokenizerConfiguration(stripAccents: false, lowercase: false) : BertTokenizerConfiguration()
        let normalizer = Normalizer(configuration)
        var workspace = Workspace()
        var mismatches: [String] = []
        for block in Self.blocks where block.normalizer == normalizerName {
            var text = String(String.UnicodeScalarView(
                (block.start..<block.start + Self.blockSize).compactMap(Unicode.Scalar.init)))
            text.withUTF8 { normalizer.normalize($0, scalarBase: 0, into: &workspace) }

            var bytes: [UInt8] = []
            for scalar in workspace.scalars { UTF8Decoding.encode(scalar, into: &bytes) }
            var spans = ""
            var start = -1
            for (i, scalar) in workspace.scalars.enumerated() {
                switch normalizer.preTokenizerClass(scalar) {
                case .word:
                    if start < 0 { start = i }
                case .whitespace:
                    if start >= 0 { spans += "\(start),\(i);" }
                    start = -1
                case .punctuation:
                    if start >= 0 { spans += "\(start),\(i);" }
                    spans += "\(i),\(i + 1);"
                    start = -1
                }
            }
            if start >= 0 { spans += "\(start),\(workspace.scalars.count);" }

            if FNV1a.hash(bytes) != block.normalizedHash {
                mismatches.append("U+\(String(block.start, radix: 16, uppercase: true))… normalized text")
            }
            if FNV1a.hash(Array(spans.utf8)) != block.piecesHash {
                mismatches.append("U+\(String(block.start, radix: 16, uppercase: true))… pre-tokenizer pieces")
            }
        }
        #expect(mismatches.isEmpty, "blocks of \(Self.blockSize) code points that differ from HF: \(mismatches.prefix(10))")
    }
}
