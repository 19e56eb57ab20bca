import Foundation
import Testing
import SeqEval

/// `Fixtures/seqeval_random.json`, made by `Scripts/make_seqeval_fixtures.py` with seqeval 1.2.2.
struct SeqevalFixture: Decodable {
    struct Result: Decodable {
        var entities: [[String]]
        var report: [String: [Double?]]
        /// Absent when not recorded; `.some(nil)` where seqeval's text report fails.
        var text: String??

        enum CodingKeys: String, CodingKey { case entities, report, text }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            entities = try container.decode([[String]].self, forKey: .entities)
            report = try container.decode([String: [Double?]].self, forKey: .report)
            text = container.contains(.text) ? .some(try container.decodeNil(forKey: .text) ? nil
                : try container.decode(String.self, forKey: .text)) : .none
        }
    }

    struct Case: Decodable {
        var gold: [String]
        var predicted: [String]
        var accuracy: Double
        var modes: [Int]
        var results: [Result]
    }

    struct JSONDump: Decodable {
        var `case`: Int
        var mode: String
        var compact: String
        var indented: String
    }

    struct Wide: Decodable {
        var gold: [String]
        var predicted: [String]
        var report: [String: [Double?]]
    }

    var generator: String
    var seqeval: String
    var modes: [String]
    var json: [JSONDump]
    var wide: [Wide]
    var cases: [Case]

    static let shared: SeqevalFixture = {
        let url = Bundle.module.url(forResource: "seqeval_random", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(SeqevalFixture.self, from: Data(contentsOf: url))
    }()

    static func mode(named name: String) -> EvaluationMode {
        name == "default" ? .default : .strict(TaggingScheme(rawValue: name)!)
    }
}

func sentences(_ lines: [String]) -> [[String]] {
    lines.map { $0.split(separator: " ").map(String.init) }
}

private let averageRows = ["micro avg", "macro avg", "weighted avg"]

/// Compares a report with seqeval's `output_dict` rows, within 1e-12, and returns how many
/// numbers differ in any bit.
@discardableResult
private func expectReport(_ report: ClassificationReport, matches expected: [String: [Double?]],
                          _ context: String) -> Int {
    var inexact = 0
    let expectedTypes = Set(expected.keys).subtracting(averageRows)
    #expect(Set(report.types.keys) == expectedTypes, "\(context): types")
    let rows = report.types.merging(zip(averageRows, [report.microAverage, report.macroAverage,
                                                      report.weightedAverage]).map { $0 }) { $1 }
    for (name, values) in expected {
        guard let scores = rows[name] else { continue }
        let actual = [scores.precision, scores.recall, scores.f1Score]
        for (index, value) in values.prefix(3).enumerated() {
            // seqeval's macro average over no types is NaN (stored as null); it is 0 here.
            // Thousands of numbers: plain comparisons, an issue only on a mismatch.
            let want = value ?? 0
            if !(abs(actual[index] - want) <= 1e-12) {
                Issue.record("\(context): \(name) column \(index): \(actual[index]) vs seqeval \(want)")
            }
            if actual[index] != want { inexact += 1 }
        }
        if Double(scores.support) != values[3] {
            Issue.record("\(context): \(name) support \(scores.support) vs seqeval \(values[3] ?? .nan)")
        }
    }
    return inexact
}

/// The text this package prints where seqeval's text report raises: no entity types at all.
func reportWithoutTypes(digits: Int, support: Int = 0) -> String {
    let zero = String(format: "%.\(digits)f", 0.0)
    let number = String(repeating: " ", count: max(0, 9 - zero.count)) + zero
    let count = String(support)
    let supportColumn = String(repeating: " ", count: max(0, 9 - count.count)) + count
    let rows = ["   micro avg", "   macro avg", "weighted avg"].map { $0 + " " + String(repeating: " " + number, count: 3) + " " + supportColumn }
    return String(repeating: " ", count: 12) + "  precision    recall  f1-score   support\n\n\n" + rows.joined(separator: "\n") + "\n"
}

@Suite("seqeval 1.2.2 fixtures")
struct SeqevalFixtureTests {
    let fixture = SeqevalFixture.shared

    @Test func fixtureSaysWhereItComesFrom() {
        #expect(fixture.generator == "Scripts/make_seqeval_fixtures.py")
        #expect(fixture.seqeval == "1.2.2")
        #expect(fixture.cases.count >= 1000)
    }

    @Test func entitiesMatchSeqevalInEveryMode() {
        for (caseIndex, testCase) in fixture.cases.enumerated() {
            let sides = [sentences(testCase.gold), sentences(testCase.predicted)]
            for (modeIndex, resultIndex) in testCase.modes.enumerated() where resultIndex >= 0 {
                let mode = SeqevalFixture.mode(named: fixture.modes[modeIndex])
                let expected = testCase.results[resultIndex].entities
                for (side, sentences) in sides.enumerated() {
                    let actual = sentences.map { tags in
                        entities(in: tags, mode: mode).map { "\($0.type) \($0.start) \($0.end)" }.joined(separator: " ")
                    }
                    if actual != expected[side] {
                        Issue.record("case \(caseIndex), \(fixture.modes[modeIndex]), side \(side): \(actual) vs seqeval \(expected[side])")
                    }
                }
            }
        }
    }

    @Test func reportsMatchSeqevalInEveryMode() throws {
        var inexact = 0
        for (caseIndex, testCase) in fixture.cases.enumerated() {
            let gold = sentences(testCase.gold), predicted = sentences(testCase.predicted)
            for (modeIndex, resultIndex) in testCase.modes.enumerated() {
                let mode = SeqevalFixture.mode(named: fixture.modes[modeIndex])
                let context = "case \(caseIndex), \(fixture.modes[modeIndex])"
                guard resultIndex >= 0 else {
                    #expect(throws: SeqEvalError.self, "\(context): seqeval raises") {
                        try classificationReport(gold: gold, predicted: predicted, mode: mode)
                    }
                    continue
                }
                let result = testCase.results[resultIndex]
                let report = try classificationReport(gold: gold, predicted: predicted, mode: mode)
                inexact += expectReport(report, matches: result.report, context)
                #expect(report.accuracy == testCase.accuracy, "\(context): accuracy")
                #expect(try f1Score(gold: gold, predicted: predicted, mode: mode) == report.microAverage.f1Score)
                switch result.text {
                case .none: break
                case .some(.some(let text)): #expect(report.formatted(digits: 4) == text, "\(context): text")
                case .some(.none): #expect(report.formatted(digits: 4) == reportWithoutTypes(digits: 4), "\(context): text")
                }
            }
        }
        // Ratios of small integers, summed in numpy's order: not even the last bit differs.
        #expect(inexact == 0)
    }

    @Test func averagesOverManyTypesSumInNumpysOrder() throws {
        for (index, wide) in fixture.wide.enumerated() {
            let report = try classificationReport(gold: sentences(wide.gold), predicted: sentences(wide.predicted))
            #expect(expectReport(report, matches: wide.report, "wide \(index)") == 0)
        }
    }

    @Test func jsonIsWrittenAsPythonWritesTheReportDictionary() throws {
        #expect(!fixture.json.isEmpty)
        for dump in fixture.json {
            let testCase = fixture.cases[dump.case]
            let report = try classificationReport(gold: sentences(testCase.gold), predicted: sentences(testCase.predicted),
                                                  mode: SeqevalFixture.mode(named: dump.mode))
            #expect(String(decoding: try report.jsonData(), as: UTF8.self) == dump.compact)
            #expect(String(decoding: try report.jsonData(prettyPrinted: true), as: UTF8.self) == dump.indented)
        }
    }
}
