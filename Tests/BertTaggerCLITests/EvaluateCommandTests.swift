import Foundation
import Testing

/// Writes `text` to a fresh temporary file and returns its path.
func temporaryFile(_ text: String, name: String = "file.txt") throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url.path
}

@Suite struct EvaluateCommandTests {
    /// Gold (second-to-last) and predicted (last) tags; "I-PER" after O is an entity only in default mode.
    static let predictions = """
        -DOCSTART- -X- O O

        Peter NNP B-PER I-PER
        Blackburn NNP I-PER I-PER
        in IN O O

        BRUSSELS NNP B-LOC B-ORG
        said VBD O O

        """

    @Test func printsSeqevalsReportForTheLastTwoColumns() throws {
        let result = try Binary.run(["evaluate", try temporaryFile(Self.predictions)])
        #expect(result.status == 0, "\(result.stderr)")
        // classification_report([['B-PER','I-PER','O'],['B-LOC','O']], [['I-PER','I-PER','O'],['B-ORG','O']]) from seqeval 1.2.2.
        #expect(result.stdout == """
                          precision    recall  f1-score   support

                     LOC       0.00      0.00      0.00         1
                     ORG       0.00      0.00      0.00         0
                     PER       1.00      1.00      1.00         1

               micro avg       0.50      0.50      0.50         2
               macro avg       0.33      0.33      0.33         2
            weighted avg       0.50      0.50      0.50         2


            """)
    }

    @Test func jsonHasSeqevalsKeysAndAccuracy() throws {
        let result = try Binary.run(["evaluate", try temporaryFile(Self.predictions), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["LOC", "ORG", "PER", "micro avg", "macro avg", "weighted avg", "accuracy"])
        let micro = try #require(object["micro avg"] as? [String: Double])
        #expect(micro == ["precision": 0.5, "recall": 0.5, "f1-score": 0.5, "support": 2])
        #expect(object["accuracy"] as? Double == 0.6)
    }

    @Test func strictModeNeedsWellFormedEntities() throws {
        let result = try Binary.run(["evaluate", try temporaryFile(Self.predictions), "--mode", "strict", "--scheme", "IOB2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["PER"] as? [String: Double])?["f1-score"] == 0)
        #expect((object["micro avg"] as? [String: Double])?["precision"] == 0)
    }

    @Test func aPredictionFieldForACoNLLFileIsAnErrorNamingTheColumnOption() throws {
        let result = try Binary.run(["evaluate", try temporaryFile(Self.predictions), "--prediction-field", "tags_pred"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--prediction-field tags_pred names a JSON Lines key"), "\(result.stderr)")
        #expect(result.stderr.contains("--pred-column N"), "\(result.stderr)")
    }

    @Test func goldAndPredictedColumnsCanBeChosen() throws {
        // Score the chunk-like column 1 against itself: everything is right.
        let result = try Binary.run(["evaluate", try temporaryFile(Self.predictions), "--gold-column", "2", "--pred-column", "-2",
                                     "--digits", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("   micro avg      1.000     1.000     1.000         2"))
    }

    @Test func aMalformedFileIsAnErrorNamingTheLine() throws {
        let path = try temporaryFile("a B-PER B-PER\nb O\n")
        let result = try Binary.run(["evaluate", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path):2: found 2 columns, expected 3"))
    }

    @Test func aTagStrictModeCannotReadIsAnErrorNamingTheLine() throws {
        let path = try temporaryFile("a B-PER B-PER\nb O O\n\nc O X-PER\n")
        let result = try Binary.run(["evaluate", path, "--mode", "strict", "--scheme", "iob2"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path):4: predicted tag 'X-PER'"))
    }

    @Test func aColumnThatDoesNotExistIsAnError() throws {
        let path = try temporaryFile("a B-PER\n")
        let result = try Binary.run(["evaluate", path, "--gold-column", "-3"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path):1: the gold column -3 does not exist; token lines have 2 columns"))
    }

    @Test(arguments: [
        (["--mode", "strict"], "--mode strict needs --scheme"),
        (["--scheme", "IOB2"], "--scheme applies only with --mode strict"),
        (["--mode", "strict", "--scheme", "IOB9"], "unknown scheme 'IOB9'"),
        (["--mode", "lenient"], "lenient"),
    ])
    func inconsistentOptionsAreRejected(arguments: [String], message: String) throws {
        let result = try Binary.run(["evaluate", try temporaryFile(Self.predictions)] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func aMissingFileIsAnErrorNamingIt() throws {
        let result = try Binary.run(["evaluate", "/nonexistent/predictions.txt"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/predictions.txt: cannot read the file"))
    }
}
