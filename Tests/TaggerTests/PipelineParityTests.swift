import Foundation
import SeqEval
import Tensors
import Testing
@testable import Tagger

/// The default encoder with a seeded classifier, against transformers' TokenClassificationPipeline on the same
/// texts (Fixtures/minilm-pipeline/expected.json, made by Scripts/make_tagger_fixtures.py).
@Suite("parity with transformers' token-classification pipeline", .serialized,
       .enabled(if: TaggerTestModels.hasEncoder, "needs models/all-MiniLM-L6-v2 (bash Scripts/setup.sh)"))
struct PipelineParityTests {
    struct Expected: Decodable {
        struct Word: Decodable { var label: String; var score: Double; var start: Int; var end: Int }
        struct Entity: Decodable { var type: String; var score: Double; var start: Int; var end: Int; var word: String }
        struct Strategy: Decodable { var words: [Word]; var entities: [Entity] }
        struct Text: Decodable { var text: String; var first: Strategy; var average: Strategy; var max: Strategy }
        var labels: [String]
        var texts: [Text]
    }

    static let tolerance = 1e-5  // found: 6e-7 (float32 kernels on both sides)

    @Test(arguments: Aggregation.allCases)
    func wordsAndEntitiesMatchThePipeline(aggregation: Aggregation) throws {
        Parallel.setThreadCount(2)
        let data = try Data(contentsOf: TaggerTestModels.fixture("minilm-pipeline/expected.json"))
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        let directory = try TaggerTestModels.minilmPipeline(labels: expected.labels)
        defer { try? FileManager.default.removeItem(at: directory) }
        // The pipeline decodes by argmax and groups entities as seqeval's default mode reads IOB2.
        let tagger = try Tagger(directory: directory, settings: TaggingSettings(decoding: .argmax, aggregation: aggregation),
                                precision: .fp32)
        var largest = 0.0
        for (text, tagged) in zip(expected.texts, try tagger.tag(texts: expected.texts.map(\.text))) {
            let reference: Expected.Strategy
            switch aggregation {
            case .first: reference = text.first
            case .average: reference = text.average
            case .max: reference = text.max
            }
            try #require(tagged.words.count == reference.words.count, "\(text.text): \(tagged.words.map(\.text))")
            for (found, want) in zip(tagged.words, reference.words) {
                #expect(found.label == want.label && found.start == want.start && found.end == want.end,
                        "\(text.text): '\(found.text)' \(found.label) \(found.start)..<\(found.end) vs \(want)")
                largest = max(largest, abs(found.probability - want.score))
            }
            try #require(tagged.entities.count == reference.entities.count, "\(text.text): \(tagged.entities.map(\.text))")
            for (found, want) in zip(tagged.entities, reference.entities) {
                #expect(found.type == want.type && found.start == want.start && found.end == want.end,
                        "\(text.text): \(found) vs \(want)")
                largest = max(largest, abs(found.score - want.score))
            }
        }
        #expect(largest < Self.tolerance, "largest score difference \(largest)")
    }

    @Test func viterbiRepairsWhatThePipelineLeavesIllFormed() throws {
        let data = try Data(contentsOf: TaggerTestModels.fixture("minilm-pipeline/expected.json"))
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        let directory = try TaggerTestModels.minilmPipeline(labels: expected.labels)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tagger = try Tagger(directory: directory, precision: .fp32)
        let index = Dictionary(uniqueKeysWithValues: expected.labels.enumerated().map { ($0.element, $0.offset) })
        var repaired = 0
        for (text, tagged) in zip(expected.texts, try tagger.tag(texts: expected.texts.map(\.text))) {
            #expect(tagger.transitions.isWellFormed(tagged.words.map { index[$0.label]! }))
            if !tagger.transitions.isWellFormed(text.first.words.map { index[$0.label]! }) { repaired += 1 }
            for entity in tagged.entities { #expect(slice(text.text, entity.start..<entity.end) == entity.text) }
        }
        #expect(repaired > 0, "the seeded classifier's argmax labels should be ill-formed somewhere")
    }
}
