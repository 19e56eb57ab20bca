import Foundation
import Testing
import SeqEval

/// `Fixtures/sklearn_tags.json`, made by `Scripts/make_tag_scoring_fixtures.py` with scikit-learn.
struct SklearnTagFixture: Decodable {
    struct Case: Decodable {
        var gold: [String]
        var predicted: [String]
        var report: [String: [Double]]
        var micro: [Double]
        var accuracy: Double
    }
    var sklearn: String
    var cases: [Case]

    static let shared: SklearnTagFixture = {
        let url = Bundle.module.url(forResource: "sklearn_tags", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(SklearnTagFixture.self, from: Data(contentsOf: url))
    }()
}

@Suite struct TagScoringTests {
    static func sentences(_ lines: [String]) -> [[String]] { lines.map { $0.split(separator: " ").map(String.init) } }

    @Test func perTagScoresMatchScikitLearnsClassificationReport() throws {
        let fixture = SklearnTagFixture.shared
        #expect(fixture.cases.count == 63)
        for (index, testCase) in fixture.cases.enumerated() {
            let report = try tagClassificationReport(gold: Self.sentences(testCase.gold), predicted: Self.sentences(testCase.predicted))
            let labels = Set(testCase.report.keys).subtracting(["macro avg", "weighted avg"])
            #expect(Set(report.types.keys) == labels, "case \(index)")
            func values(_ s: Scores) -> [Double] { [s.precision, s.recall, s.f1Score, Double(s.support)] }
            for label in labels {
                #expect(values(report.types[label]!) == testCase.report[label]!, "case \(index) label \(label)")
            }
            #expect(values(report.macroAverage) == testCase.report["macro avg"]!, "case \(index) macro")
            #expect(values(report.weightedAverage) == testCase.report["weighted avg"]!, "case \(index) weighted")
            #expect(values(report.microAverage) == testCase.micro, "case \(index) micro")
            #expect(report.accuracy == testCase.accuracy, "case \(index) accuracy")
            #expect(report.scoring == .tags)
        }
    }

    @Test func posTagsAreScoredPerTagNotAsChunks() throws {
        // seqeval would read NNP as an entity of type "NP" and VBD as "BD".
        let report = try tagClassificationReport(gold: [["NNP", "VBD", "NNP"]], predicted: [["NNP", "VBD", "VBD"]])
        #expect(report.typeNames == ["NNP", "VBD"])
        #expect(report.types["NNP"] == Scores(precision: 1, recall: 0.5, f1Score: 2.0 / 3.0, support: 2))
        #expect(report.types["VBD"] == Scores(precision: 0.5, recall: 1, f1Score: 2.0 / 3.0, support: 1))
        #expect(report.accuracy == 2.0 / 3.0)
        #expect(report.microAverage.f1Score == 2.0 / 3.0)
    }

    @Test(arguments: [
        (["O", "B-PER", "I-PER", "E-LOC", "S-MISC", "L-X", "U-creative-work"], Scoring.entities),
        (["NNP", "VBD", "O"], .tags),
        (["B-NP", "I-NP", "O", "B-VP"], .entities),
        (["B-", "O"], .tags),
        (["-X"], .tags),
        (["X-PER"], .tags),
    ])
    func theLabelSetDecidesTheScoring(labels: [String], expected: Scoring) {
        #expect(Scoring(labels: labels) == expected)
    }

    @Test func aTagReportSaysHowItWasScoredInItsJSON() throws {
        let report = try tagClassificationReport(gold: [["NN"]], predicted: [["NN"]])
        let object = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        #expect(object["scoring"] as? String == "tags")
        let entities = try classificationReport(gold: [["B-PER"]], predicted: [["B-PER"]])
        let plain = try #require(try JSONSerialization.jsonObject(with: entities.jsonData()) as? [String: Any])
        #expect(plain["scoring"] == nil, "seqeval's own form has no such key")
        let labelled = try #require(try JSONSerialization.jsonObject(with: entities.jsonData(includingScoring: true)) as? [String: Any])
        #expect(labelled["scoring"] as? String == "entities")
    }

    @Test func mismatchedInputsAreErrors() {
        #expect(throws: SeqEvalError.sentenceLengthMismatch(sentence: 0, gold: 2, predicted: 1)) {
            try tagClassificationReport(gold: [["NN", "VB"]], predicted: [["NN"]])
        }
        #expect(throws: SeqEvalError.noTokens) { try tagClassificationReport(gold: [[]], predicted: [[]]) }
        #expect(throws: SeqEvalError.emptyTag(side: .predicted, sentence: 0, token: 0)) {
            try tagClassificationReport(gold: [["NN"]], predicted: [[""]])
        }
    }
}
