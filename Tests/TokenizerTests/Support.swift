import Foundation
import Testing
@testable import Tokenizer

enum Paths {
    /// The package root, found from this file so tests run from any working directory.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = packageRoot.appendingPathComponent("models/all-MiniLM-L6-v2")
    static let corpus = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/conll2003")

    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!
    }
}

enum Models {
    /// The default encoder's tokenizer, from tokenizer.json; Scripts/setup.sh fetches it.
    static let uncased: BertTokenizer = load { try BertTokenizer(directory: Paths.model) }

    /// The same vocabulary with BertNormalizer(lowercase: false, strip_accents: false), through vocab.txt,
    /// as Scripts/make_tokenizer_fixtures.py builds its "cased" reference.
    static let cased: BertTokenizer = load {
        try BertTokenizer(vocabTXT: Paths.model.appendingPathComponent("vocab.txt"),
                          configuration: BertTokenizerConfiguration(stripAccents: false, lowercase: false))
    }

    private static func load(_ make: () throws -> BertTokenizer) -> BertTokenizer {
        do {
            return try make()
        } catch {
            fatalError("\(error) (the tokenizer tests need the default encoder: run Scripts/setup.sh --no-build)")
        }
    }
}

func fnv1a64(int32s values: [Int32]) -> UInt64 {
    var hash = FNV1a.offsetBasis
    for value in values {
        withUnsafeBytes(of: value.littleEndian) { for byte in $0 { hash = FNV1a.combine(hash, byte) } }
    }
    return hash
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

/// A scratch directory removed when the value goes away.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ contents: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try contents.write(to: file, atomically: true, encoding: .utf8)
        return file
    }
}
