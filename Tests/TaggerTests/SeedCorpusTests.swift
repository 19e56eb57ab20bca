import Foundation
import Testing
import Tagger

/// The fuzz target's seeds (Fuzz/Corpus/tagging-settings, written by Fuzz/make-seeds.py): valid-* load,
/// invalid-* are refused with a `TaggerError` naming the file.
@Suite("Fuzz seed corpus")
struct SeedCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/tagging-settings")

    @Test func validTaggingSettingsSeedsLoadAndInvalidOnesAreRefused() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(names.contains { $0.hasPrefix("valid-") } && names.contains { $0.hasPrefix("invalid-") })
        for name in names {
            let bytes = Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
            do {
                _ = try TaggingSettings.decode(bytes, file: name)
                #expect(name.hasPrefix("valid-"), "\(name) loaded")
            } catch let error as TaggerError {
                #expect(name.hasPrefix("invalid-"), "\(name): \(error)")
                #expect(error.description.contains(name))
            }
        }
    }
}
