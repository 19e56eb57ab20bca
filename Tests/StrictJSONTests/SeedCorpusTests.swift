import Foundation
import Testing
import StrictJSON

/// The fuzz target's seeds (Fuzz/Corpus/strict-json, written by Fuzz/make-seeds.py): valid-* parse, invalid-* are
/// refused with a `JSONParseError`.
@Suite("Fuzz seed corpus")
struct SeedCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/strict-json")

    @Test func validSeedsParseAndInvalidOnesAreRefused() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(names.contains { $0.hasPrefix("valid-") } && names.contains { $0.hasPrefix("invalid-") })
        for name in names {
            let bytes = Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
            let error = parseError(bytes)
            if name.hasPrefix("valid-") {
                #expect(error == nil, "\(name): \(error.map(String.init(describing:)) ?? "")")
            } else {
                #expect(error != nil, "\(name) parsed")
            }
        }
    }
}
