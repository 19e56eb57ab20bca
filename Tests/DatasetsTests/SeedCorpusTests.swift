import Foundation
import Testing
import Datasets
import SeqEval

/// The fuzz targets' seeds (Fuzz/Corpus/{conll,jsonl,label-names}, written by Fuzz/make-seeds.py), read with the
/// options their first byte picks as the targets in Fuzz/Sources read it: valid-* are read, invalid-* refused with
/// a `DatasetError` naming the file.
@Suite("Fuzz seed corpus")
struct SeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus")

    /// Each seed of `target` as its options byte and the rest; both kinds must be present.
    static func seeds(_ target: String) throws -> [(name: String, options: UInt8, bytes: Data)] {
        let folder = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.contains { $0.hasPrefix("valid-") } && names.contains { $0.hasPrefix("invalid-") })
        return try names.map { name in
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            return (name, data.first ?? 0, data.dropFirst())
        }
    }

    static func check(_ name: String, _ read: () throws -> Void) {
        do {
            try read()
            #expect(name.hasPrefix("valid-"), "\(name) was read")
        } catch let error as DatasetError {
            #expect(name.hasPrefix("invalid-"), "\(name): \(error)")
            #expect(error.description.contains(name), "\(error)")
        } catch {
            Issue.record("\(name): \(type(of: error)) \(error)")
        }
    }

    @Test func conllSeedsReadAsTheFuzzTargetReadsThem() throws {
        for seed in try Self.seeds("conll") {
            let labelColumns: [Int?] = [-1, nil, 1, 2]
            let schemes: [TaggingScheme?] = [nil, nil] + TaggingScheme.allCases
            let reader = CoNLLReader(tokenColumn: [0, 1, -1, -2][Int(seed.options & 3)],
                                     labelColumn: labelColumns[Int(seed.options >> 2 & 3)],
                                     scheme: schemes[Int(seed.options >> 4) % schemes.count])
            Self.check(seed.name) { _ = try reader.read(data: seed.bytes, file: seed.name) }
        }
    }

    @Test func jsonLinesSeedsReadAsTheFuzzTargetReadsThem() throws {
        for seed in try Self.seeds("jsonl") {
            let reader = JSONLinesReader(tagsKey: "tags", alternativeTagsKeys: ["ner_tags"], tagsOptional: seed.options & 1 != 0,
                                         labelNames: seed.options & 2 != 0 ? ["O", "B-PER", "I-PER"] : nil,
                                         extraKeys: seed.options & 4 != 0 ? ["predictions"] : [])
            Self.check(seed.name) { _ = try reader.read(data: seed.bytes, file: seed.name) }
        }
    }

    @Test func labelNamesSeedsReadAsTheFuzzTargetReadsThem() throws {
        for seed in try Self.seeds("label-names") {
            let tagField = [nil, "ner_tags", "pos_tags"][Int(seed.options) % 3]
            Self.check(seed.name) { _ = try LabelNames.fromFile(seed.bytes, source: seed.name, tagField: tagField) }
        }
    }
}
