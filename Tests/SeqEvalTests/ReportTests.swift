import Foundation
import Testing
import SeqEval

@Suite("classification report")
struct ReportTests {
    // The example in seqeval's `classification_report` docstring.
    let gold = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    let predicted = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]

    @Test func textMatchesSeqevalsOutputForItsDocstringExample() throws {
        // As seqeval prints it; the docstring itself shows one space fewer before "precision".
        let report = try classificationReport(gold: gold, predicted: predicted)
        #expect(report.formatted() == [
            "              precision    recall  f1-score   support",
            "",
            "        MISC       0.00      0.00      0.00         1",
            "         PER       1.00      1.00      1.00         1",
            "",
            "   micro avg       0.50      0.50      0.50         2",
            "   macro avg       0.50      0.50      0.50         2",
            "weighted avg       0.50      0.50      0.50         2",
            "",
        ].joined(separator: "\n"))
        #expect(report.accuracy == 0.8)
    }

    @Test func columnWidthFollowsTheLongestTypeName() throws {
        let report = try classificationReport(gold: [["B-creative-work", "O"]], predicted: [["B-creative-work", "O"]])
        let lines = report.formatted(digits: 3).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "               precision    recall  f1-score   support")
        #expect(lines[2] == "creative-work      1.000     1.000     1.000         1")
        #expect(lines[4] == "    micro avg      1.000     1.000     1.000         1")
    }

    @Test func typesOnlyInPredictionsHaveZeroSupport() throws {
        let report = try classificationReport(gold: [["B-PER", "O", "O"]], predicted: [["B-PER", "O", "B-MISC"]])
        #expect(report.types["MISC"] == Scores(precision: 0, recall: 0, f1Score: 0, support: 0))
        #expect(report.types["PER"] == Scores(precision: 1, recall: 1, f1Score: 1, support: 1))
        #expect(report.microAverage.precision == 0.5)
        #expect(report.macroAverage.recall == 0.5)
        // Weighted by support, the prediction-only type counts for nothing.
        #expect(report.weightedAverage == Scores(precision: 1, recall: 1, f1Score: 1, support: 1))
    }

    @Test func typesOnlyInGoldHaveZeroPrecisionWithoutAnError() throws {
        let report = try classificationReport(gold: [["B-LOC"]], predicted: [["O"]])
        #expect(report.types["LOC"] == Scores(precision: 0, recall: 0, f1Score: 0, support: 1))
    }

    @Test func averagesMatchSeqevalsF1Examples() throws {
        // seqeval's `f1_score` docstring: micro 2/3, macro 0.75, weighted 2/3.
        let gold = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "O", "O"], ["B-PER", "I-PER", "O"]]
        let predicted = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
        let report = try classificationReport(gold: gold, predicted: predicted)
        #expect(report.microAverage.f1Score == 0.6666666666666666)
        #expect(report.macroAverage.f1Score == 0.75)
        #expect(report.weightedAverage.f1Score == 0.6666666666666666)
        #expect(try f1Score(gold: gold, predicted: predicted) == 0.6666666666666666)
    }

    @Test func reportWithoutEntitiesHasOnlyZeroAverages() throws {
        // seqeval's text report raises here and its macro average is NaN.
        let report = try classificationReport(gold: [["O", "O"]], predicted: [["O", "O"]])
        #expect(report.types.isEmpty)
        #expect(report.macroAverage == Scores(precision: 0, recall: 0, f1Score: 0, support: 0))
        #expect(report.formatted() == reportWithoutTypes(digits: 2))
        #expect(report.accuracy == 1)
        #expect(try f1Score(gold: [], predicted: []) == 0)
    }

    @Test func lengthMismatchNamesTheSentence() {
        #expect(throws: SeqEvalError.sentenceLengthMismatch(sentence: 1, gold: 2, predicted: 1)) {
            try classificationReport(gold: [["O"], ["O", "O"]], predicted: [["O"], ["O"]])
        }
        #expect(throws: SeqEvalError.sentenceCountMismatch(gold: 2, predicted: 1)) {
            try f1Score(gold: [["O"], ["O"]], predicted: [["O"]])
        }
        let message = SeqEvalError.sentenceLengthMismatch(sentence: 1, gold: 2, predicted: 1).description
        #expect(message.contains("sentence 1") && message.contains("2 gold tags") && message.contains("1 predicted"))
    }

    @Test func emptyTagsAndEmptyInputAreErrors() {
        #expect(throws: SeqEvalError.emptyTag(side: .gold, sentence: 0, token: 1)) {
            try classificationReport(gold: [["O", ""]], predicted: [["O", "O"]])
        }
        #expect(throws: SeqEvalError.noTokens) {
            try classificationReport(gold: [[], []], predicted: [[], []])
        }
    }

    @Test func jsonHasOutputDictKeysAndAccuracyInSeqevalsOrder() throws {
        let report = try classificationReport(gold: gold, predicted: predicted)
        let text = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(text == #"{"MISC": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 1}, "#
            + #""PER": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1}, "#
            + #""micro avg": {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 2}, "#
            + #""macro avg": {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 2}, "#
            + #""weighted avg": {"precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 2}, "accuracy": 0.8}"#)
        let object = try JSONSerialization.jsonObject(with: try report.jsonData(prettyPrinted: true)) as? [String: Any]
        #expect(Set(object?.keys ?? [:].keys) == ["MISC", "PER", "micro avg", "macro avg", "weighted avg", "accuracy"])
    }

    @Test func jsonEscapesNamesAsPythonDoes() throws {
        let report = try classificationReport(gold: [["B-Straße", "B-a\"b"]], predicted: [["B-Straße", "O"]])
        let text = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"Stra\u00dfe": {"#))
        #expect(text.contains(#""a\"b": {"#))
        // The same report decodes per row with the Codable keys.
        let rows = try JSONDecoder().decode([String: Scores].self, from: Data(text.replacingOccurrences(of: #", "accuracy": 0.5"#, with: "").utf8))
        #expect(rows["Straße"] == report.types["Straße"])
    }

    @Test func typesSortByCodePointAsInPython() throws {
        let tags = ["B-b", "B-B", "B-Z", "B-É", "B-creative-work"]
        let report = try classificationReport(gold: [tags], predicted: [tags])
        #expect(report.typeNames == ["B", "Z", "b", "creative-work", "É"])
    }
}
