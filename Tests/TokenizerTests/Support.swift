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

/// The test tokenizers, loaded once; a missing model fails each test that needs it rather than
/// crashing the test process.
enum Models {
    struct MissingModel: Error, CustomStringConvertible {
        var underlying: any Error
        var description: String {
            "\(underlying) (the tokenizer tests need the default encoder: run Scripts/setup.sh --no-build)"
        }
    }

    /// The default encoder's tokenizer, from tokenizer.json.
    static func uncased() throws -> BertTokenizer { try uncasedResult.get() }

    /// The same vocabulary with BertNormalizer(lowercase: false, strip_accents: false), through vocab.txt,
    /// as Scripts/make_tokenizer_fixtures.py builds its "cased" reference.
    static func cased() throws -> BertTokenizer { try casedResult.get() }

    private static let uncasedResult = load { try BertTokenizer(directory: Paths.model) }
    private static let casedResult = load {
        try BertTokenizer(vocabTXT: Paths.model.appendingPathComponent("vocab.txt"),
                          configuration: BertTokenizerConfiguration(stripAccents: false, lowercase: false))
    }

    private static func load(_ make: () throws -> BertTokenizer) -> Result<BertTokenizer, MissingModel> {
        Result { try make() }.mapError { MissingModel(underlying: $0) }
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
