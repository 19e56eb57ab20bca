import Foundation
import Testing

/// Every command reads both documented formats, scores tags that are not entities per tag, and refuses
/// files that are not what they are read as.
@Suite struct CorpusFormatCommandTests {
    static let nerNames = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

    /// The fixture's CoNLL corpus as HuggingFace-style JSON Lines: `tokens`, integer `pos_tags` and `ner_tags`.
    static func huggingFaceJSONLines(_ conll: String) throws -> (text: String, posNames: [String]) {
        var posNames: [String] = []
        var lines: [String] = []
        for block in conll.components(separatedBy: "\n\n") {
            let rows = block.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                .filter { $0.count == 3 && $0[0] != "-DOCSTART-" }
            guard !rows.isEmpty else { continue }
            for row in rows where !posNames.contains(row[1]) { posNames.append(row[1]) }
            let record: [String: Any] = ["tokens": rows.map { $0[0] }, "pos_tags": rows.map { posNames.firstIndex(of: $0[1])! },
                                         "ner_tags": rows.map { nerNames.firstIndex(of: $0[2])! }]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
        }
        return (lines.joined(separator: "\n") + "\n", posNames)
    }

    static func jsonRows(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func write(_ text: String, _ name: String) throws -> URL {
        let files = try TinyCLIFixture.files.get()
        let folder = files.root.appendingPathComponent("formats-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    // MARK: train

    @Test func trainReadsHuggingFaceJSONLinesWithIntegerTagsAndTheirLabelNames() throws {
        let files = try TinyCLIFixture.files.get()
        let train = try write(Self.huggingFaceJSONLines(try String(contentsOf: files.train, encoding: .utf8)).text, "train.jsonl")
        let dev = try write(Self.huggingFaceJSONLines(try String(contentsOf: files.dev, encoding: .utf8)).text, "dev.jsonl")
        let output = train.deletingLastPathComponent().appendingPathComponent("run")
        let result = try runTool(["train", "--model", files.model.path, "--train", train.path, "--dev", dev.path,
                                  "--output", output.path, "--epochs", "1", "--batch-tokens", "96", "--threads", "1",
                                  "--label-names", Self.nerNames.joined(separator: ",")])
        #expect(result.status == 0, "\(result.stderr)")
        let labels = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("labels.json"))) as? [String: [String]])
        #expect(labels["labels"] == ["O", "B-LOC", "B-ORG", "I-ORG", "B-PER"])
        let options = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("options.json"))) as? [String: Any])
        #expect(options["labelNames"] as? [String] == Self.nerNames)
    }

    @Test func trainOnIntegerTagsWithoutLabelNamesIsAClearErrorBeforeAnyModelLoads() throws {
        let files = try TinyCLIFixture.files.get()
        let train = try write(Self.huggingFaceJSONLines(try String(contentsOf: files.train, encoding: .utf8)).text, "train.jsonl")
        let result = try runTool(["train", "--model", "/nonexistent-model", "--train", train.path, "--dev", train.path,
                                  "--output", train.deletingLastPathComponent().appendingPathComponent("run").path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(train.path):1: key \"ner_tags\": integer tags need the label list"), "\(result.stderr)")
        #expect(result.stderr.contains("--label-names"))
    }

    @Test func trainOnJSONLinesNamedLikeCoNLLIsRefusedWithTheFix() throws {
        let files = try TinyCLIFixture.files.get()
        let train = try write(#"{"tokens": ["Paris", "is"], "tags": ["B-LOC", "O"]}"# + "\n", "train.txt")
        let result = try runTool(["train", "--model", files.model.path, "--train", train.path, "--dev", files.dev.path,
                                  "--output", train.deletingLastPathComponent().appendingPathComponent("run").path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(train.path):1: read as CoNLL columns, but found a JSON object"), "\(result.stderr)")
        #expect(result.stderr.contains("--input-format jsonl"))
        // With the format named, the same file trains.
        let named = try runTool(["train", "--model", files.model.path, "--train", train.path, "--dev", train.path,
                                 "--input-format", "jsonl", "--epochs", "1", "--threads", "1", "--batch-tokens", "96",
                                 "--output", train.deletingLastPathComponent().appendingPathComponent("run2").path])
        #expect(named.status == 0, "\(named.stderr)")
    }

    @Test func trainWithPOSTagsScoresPerTag() throws {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("pos-\(UUID().uuidString.prefix(8))")
        let result = try runTool(TinyCLIFixture.trainArguments(files, output: output) + ["--label-column", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("per tag: micro P"), "\(result.stderr)")
        #expect(result.stdout.hasPrefix("best dev accuracy: "))
        let report = try String(contentsOf: output.appendingPathComponent("reports/dev.txt"), encoding: .utf8)
        #expect(report.hasPrefix("scoring: per tag"))
        #expect(report.contains("         NNP ") && report.contains("         VBD "), "\(report)")
        // evaluate scores the run's predictions the same way, on its own.
        let evaluation = try runTool(["evaluate", output.appendingPathComponent("predictions/dev.conll").path, "--gold-column", "1"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.hasPrefix("scoring: per tag"))
        #expect(evaluation.stdout.contains("         NNP "))
    }

    @Test func unseenDevLabelsNameTheOptionAndCanBeScoredAsOutside() throws {
        let files = try TinyCLIFixture.files.get()
        let dev = try write("smith NNP B-PER\nwent VBD O\nto TO O\nnowhere NN B-MISC\n\n", "dev.txt")
        let refused = try runTool(["train", "--model", files.model.path, "--train", files.train.path, "--dev", dev.path,
                                   "--output", dev.deletingLastPathComponent().appendingPathComponent("run").path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\"B-MISC\" (line 4)") && refused.stderr.contains("--unseen-labels"), "\(refused.stderr)")

        let output = dev.deletingLastPathComponent().appendingPathComponent("run-outside")
        let result = try runTool(["train", "--model", files.model.path, "--train", files.train.path, "--dev", dev.path,
                                  "--output", output.path, "--epochs", "1", "--batch-tokens", "96", "--threads", "1",
                                  "--unseen-labels", "outside"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("dev: labels never seen in training scored as O (--unseen-labels outside): B-MISC (1) on 1 word in 1 sentence"))
        let report = try String(contentsOf: output.appendingPathComponent("reports/dev.txt"), encoding: .utf8)
        #expect(report.contains("note: labels never seen in training scored as O"))
    }

    // MARK: data stats

    @Test func dataStatsReadsJSONLinesWithIntegerTags() throws {
        let files = try TinyCLIFixture.files.get()
        let corpus = try write(Self.huggingFaceJSONLines(try String(contentsOf: files.dev, encoding: .utf8)).text, "dev.jsonl")
        let result = try runTool(["data", "stats", corpus.path, "--json", "--label-names", Self.nerNames.joined(separator: ",")])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["sentences"] as? Int == 12)
        #expect(object["scoring"] as? String == "entities")
        let conll = try runTool(["data", "stats", files.dev.path, "--json"])
        let conllObject = try #require(try JSONSerialization.jsonObject(with: Data(conll.stdout.utf8)) as? [String: Any])
        #expect(object["entities"] as? [String: Int] == conllObject["entities"] as? [String: Int], "the same sentences, the same entities")
        #expect(object["tokens"] as? Int == conllObject["tokens"] as? Int)
    }

    @Test func dataStatsCountsPOSTagsPerTagNotAsEntities() throws {
        let result = try Binary.run(["data", "stats", try temporaryFile(DataCommandTests.corpus), "--label-column", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tags (not a BIO-style scheme: counted and scored per tag)"))
        #expect(result.stdout.contains("  NNP                         4\n"))
        #expect(!result.stdout.contains("entities"))
        let json = try Binary.run(["data", "stats", try temporaryFile(DataCommandTests.corpus), "--label-column", "1", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["scoring"] as? String == "tags")
        #expect(object["entities"] == nil)
    }

    @Test func dataStatsOnCoNLLNamedJSONLIsRefusedWithTheFix() throws {
        let path = try temporaryFile(DataCommandTests.corpus, name: "corpus.jsonl")
        let result = try Binary.run(["data", "stats", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path):1: read as JSON Lines"), "\(result.stderr)")
        #expect(result.stderr.contains("--input-format conll"))
        #expect(try Binary.run(["data", "stats", path, "--input-format", "conll"]).status == 0)
    }

    // MARK: predict and evaluate

    @Test func predictOnJSONLinesKeepsTheGoldTagsAndEvaluateScoresTheOutput() throws {
        let (run, trained) = try TinyCLIFixture.trainedRun.get()
        try #require(trained.status == 0, "\(trained.stderr)")
        let files = try TinyCLIFixture.files.get()
        let input = try write(Self.huggingFaceJSONLines(try String(contentsOf: files.dev, encoding: .utf8)).text, "dev.jsonl")
        let output = input.deletingLastPathComponent().appendingPathComponent("tagged.jsonl")
        let result = try runTool(["predict", "--model", run.appendingPathComponent("best").path, "--input", input.path,
                                  "--output", output.path, "--threads", "1", "--label-names", Self.nerNames.joined(separator: ",")])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try Self.jsonRows(output)
        #expect(rows.count == 12)
        #expect(rows.allSatisfy { ($0["tags"] as? [String])?.count == ($0["tokens"] as? [String])?.count })
        #expect((rows.first?["tags"] as? [String])?.allSatisfy(Self.nerNames.contains) == true)

        let evaluation = try runTool(["evaluate", output.path, "--json"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        // The same model on the same sentences: the run's own dev report.
        let runReport = try runTool(["evaluate", run.appendingPathComponent("predictions/dev.conll").path, "--json"])
        #expect(evaluation.stdout == runReport.stdout)

        // Tagged into CoNLL, the gold tags are the column before the predictions.
        let conll = input.deletingLastPathComponent().appendingPathComponent("tagged.conll")
        let toCoNLL = try runTool(["predict", "--model", run.appendingPathComponent("best").path, "--input", input.path,
                                   "--output", conll.path, "--format", "conll", "--threads", "1",
                                   "--label-names", Self.nerNames.joined(separator: ",")])
        #expect(toCoNLL.status == 0, "\(toCoNLL.stderr)")
        #expect(try runTool(["evaluate", conll.path, "--json"]).stdout == runReport.stdout)
    }

    @Test func evaluateRefusesTheWordsOfAFileWithOneTagColumnAsGold() throws {
        // What predict writes for a corpus without labels: words and predictions.
        let path = try temporaryFile("EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n\nPeter B-PER\nBlackburn I-PER\n")
        let result = try Binary.run(["evaluate", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path): the gold column 0 does not hold tags"), "\(result.stderr)")
        #expect(result.stderr.contains("\"EU\", \"rejects\", \"German\""))
        #expect(result.stderr.contains("--gold-column"))
        #expect(!result.stdout.contains("ONDON") && result.stdout.isEmpty)
    }

    @Test func evaluateRefusesWordsAgainstPOSPredictionsToo() throws {
        let path = try temporaryFile("EU NNP\nrejects VBZ\nGerman JJ\ncall NN\n")
        let result = try Binary.run(["evaluate", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("the gold column 0 does not hold tags"), "\(result.stderr)")
    }

    @Test func evaluateScoresPOSTagsPerTagAndSaysSo() throws {
        let path = try temporaryFile("EU NNP NNP\nrejects VBZ VBD\nGerman JJ JJ\n\nPeter NNP NNP\n")
        let result = try Binary.run(["evaluate", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("scoring: per tag"))
        #expect(result.stdout.contains("         NNP       1.00      1.00      1.00         2"))
        #expect(result.stdout.contains("accuracy 0.75"))
        let json = try Binary.run(["evaluate", path, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["scoring"] as? String == "tags")
        // Forced entity scoring reads them as seqeval would.
        let entities = try Binary.run(["evaluate", path, "--scoring", "entities"])
        #expect(entities.status == 0 && entities.stdout.contains("          NP "), "\(entities.stdout)")
    }

    @Test func evaluateReadsJSONLinesWithTagsAndPredictions() throws {
        let path = try temporaryFile(#"{"tokens": ["Peter", "went"], "tags": ["B-PER", "O"], "predictions": ["B-PER", "O"]}"# + "\n"
                                     + #"{"tokens": ["Rome"], "tags": ["B-LOC"], "predictions": ["B-ORG"]}"# + "\n", name: "out.jsonl")
        let result = try Binary.run(["evaluate", path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["micro avg"] as? [String: Double])?["f1-score"] == 0.5)
        let missing = try Binary.run(["evaluate", try temporaryFile(#"{"tokens": ["a"], "tags": ["O"]}"#, name: "x.jsonl")])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("key \"predictions\": missing"), "\(missing.stderr)")
    }
}

@Suite struct EvaluateTagColumnTests {
    @Test func aWeakPOSModelThatPredictsOneTagIsStillScored() throws {
        // Gold POS in column 1, a model that says NN everywhere: tags, not words.
        let path = try temporaryFile("EU NNP NN\nrejects VBZ NN\nGerman JJ NN\ncall NN NN\n")
        let result = try Binary.run(["evaluate", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("accuracy 0.25"))
    }

    @Test func columnsChosenByHandAreTakenAsTheyAreForTagsThatAreNotAScheme() throws {
        let path = try temporaryFile("NNP NN\nVBZ NN\n")
        #expect(try Binary.run(["evaluate", path]).status != 0, "the first column is where words are")
        #expect(try Binary.run(["evaluate", path, "--gold-column", "0"]).status == 0)
    }

    @Test func aWordsColumnChosenByHandAgainstEntityTagsIsStillRefused() throws {
        let path = try temporaryFile("EU B-ORG B-ORG\nrejects O O\nGerman B-MISC O\n")
        let result = try Binary.run(["evaluate", path, "--gold-column", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("the gold column 0 does not hold tags"))
    }
}

@Suite struct EvaluateColumnKindTests {
    @Test func posPredictionsAgainstTheDefaultNERColumnNameTheGoldColumnOption() throws {
        // A POS run's predictions file: word, POS, chunk, NER, predicted POS.
        let path = try temporaryFile("EU NNP B-NP B-ORG NNP\nrejects VBZ B-VP O VBZ\n")
        let result = try Binary.run(["evaluate", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("the predicted column 4 does not hold tags"), "\(result.stderr)")
        #expect(result.stderr.contains("--gold-column 1"))
        #expect(try Binary.run(["evaluate", path, "--gold-column", "1"]).status == 0)
    }
}
