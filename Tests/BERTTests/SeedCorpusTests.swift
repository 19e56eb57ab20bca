import Foundation
import Testing
import BERT

/// The fuzz target's seeds (Fuzz/Corpus/config, written by Fuzz/make-seeds.py): valid-* load, invalid-* are
/// refused with a `BertConfigError` naming the file.
@Suite("Fuzz seed corpus")
struct SeedCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/config")

    @Test func validConfigSeedsLoadAndInvalidOnesAreRefused() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(names.contains { $0.hasPrefix("valid-") } && names.contains { $0.hasPrefix("invalid-") })
        for name in names {
            let bytes = try Data(contentsOf: Self.folder.appendingPathComponent(name))
            do {
                _ = try BertConfig.decode(bytes, path: name)
                #expect(name.hasPrefix("valid-"), "\(name) loaded")
            } catch let error as BertConfigError {
                #expect(name.hasPrefix("invalid-"), "\(name): \(error)")
                #expect(error.description.contains(name))
            }
        }
    }
}
