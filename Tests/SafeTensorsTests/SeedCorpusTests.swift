import Foundation
import Testing
import SafeTensors

/// The fuzz target's seeds (Fuzz/Corpus/safetensors, written by Fuzz/make-seeds.py): valid-* open and every tensor
/// reads, invalid-* are refused with a `SafeTensorsError`.
@Suite("Fuzz seed corpus")
struct SeedCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/safetensors")

    @Test func validSeedsOpenAndInvalidOnesAreRefused() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(names.contains { $0.hasPrefix("valid-") } && names.contains { $0.hasPrefix("invalid-") })
        for name in names {
            let bytes = try Data(contentsOf: Self.folder.appendingPathComponent(name))
            do {
                let file = try SafeTensorsFile(bytes: bytes, path: name)
                #expect(name.hasPrefix("valid-"), "\(name) opened")
                for info in file.tensors where info.dtype.isFloatingPoint {
                    #expect(try file.floats(info.name).count == info.elementCount)
                }
            } catch let error as SafeTensorsError {
                #expect(name.hasPrefix("invalid-"), "\(name): \(error)")
            }
        }
    }
}
