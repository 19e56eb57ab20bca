import Foundation
import Testing

@Suite struct PredictCommandTests {
    /// The best model of the shared training run.
    func bestModel() throws -> URL {
        let (output, result) = try TinyCLIFixture.trainedRun.get()
        try #require(result.status == 0, "training the model to predict with failed: \(result.stderr)")
        return output.appendingPathComponent("best")
    }

    @Test func conllOutputIsTheInputWithOnePredictedColumnAndEvaluateScoresIt() throws {
        let model = try bestModel()
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("predicted-\(UUID().uuidString.prefix(8)).conll")
        let result = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", output.path,
                                  "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("tagged 12 sentences"), "\(result.stderr)")

        let input = try String(contentsOf: files.dev, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let tagged = try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try #require(tagged.count == input.count, "one output line per input line")
        let labels = Set(["O", "B-PER", "B-LOC", "B-ORG", "I-ORG"])
        for (original, line) in zip(input, tagged) {
            if original.isEmpty || original.hasPrefix("-DOCSTART-") {
                #expect(line == original, "blank and document lines are kept as they are")
            } else {
                #expect(line.hasPrefix(original + " "), "\(line)")
                let predicted = String(line.dropFirst(original.count + 1))
                #expect(labels.contains(predicted), "\(line)")
            }
        }

        // The gold column is the last but one: `evaluate` scores the file as it is.
        let evaluation = try runTool(["evaluate", output.path])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.contains("micro avg"))
        // The same model tagging the same file gives the run's own dev predictions.
        let runPredictions = try String(contentsOf: model.deletingLastPathComponent().appendingPathComponent("predictions/dev.conll"),
                                        encoding: .utf8)
        #expect(try String(contentsOf: output, encoding: .utf8) == runPredictions)
    }

    /// `--precision int8` tags where oneDNN has VNNI or AMX kernels, one label a word as in single precision, and
    /// elsewhere is one error that names what is missing and the precisions that run.
    @Test func int8TagsWhereItRunsAndElseSaysWhy() throws {
        let model = try bestModel()
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("predicted-int8-\(UUID().uuidString.prefix(8)).conll")
        let result = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", output.path,
                                  "--threads", "1", "--precision", "int8"])
        let info = try Binary.run(["info"])
        if !info.stdout.contains("INT8 products (tagging): not available") {
            #expect(info.stdout.contains("INT8 products (tagging): oneDNN")
                    || info.stdout.contains("INT8 products (tagging): the tool's AVX512-VNNI kernel"), "\(info.stdout)")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("tagged 12 sentences"), "\(result.stderr)")
            let input = try String(contentsOf: files.dev, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let tagged = try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            #expect(tagged.count == input.count, "one output line per input line")
        } else {
            #expect(result.status != 0)
            #expect(result.stderr.contains("--precision int8 needs oneDNN"), "\(result.stderr)")
            #expect(result.stderr.contains("Choose fp32 or bf16"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output.path))
        }
        let capped = try Binary.run(["predict", "--model", model.path, "--input", files.dev.path, "--output",
                                     output.path + ".capped", "--precision", "int8"],
                                    environment: ["BERT_TAGGER_MAX_CPU_ISA": "avx2"])
        #expect(capped.status != 0)
        #expect(capped.stderr.contains("has no VNNI or AMX here") || capped.stderr.contains("not available"), "\(capped.stderr)")
    }

    @Test func conllInJSONLinesOutKeepsTheGoldColumnAsTagsAndEvaluateScoresIt() throws {
        let model = try bestModel()
        let files = try TinyCLIFixture.files.get()
        // Columns word, POS, NER: per sentence, the words, the POS tags and the NER tags.
        let sentences = try String(contentsOf: files.dev, encoding: .utf8).components(separatedBy: "\n\n")
            .map { $0.split(separator: "\n").filter { !$0.hasPrefix("-DOCSTART-") }.map { $0.split(separator: " ").map(String.init) } }
            .filter { !$0.isEmpty }
        let output = files.root.appendingPathComponent("predicted-\(UUID().uuidString.prefix(8)).jsonl")
        let result = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", output.path,
                                  "--format", "jsonl", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try CorpusFormatCommandTests.jsonRows(output)
        #expect(rows.map { $0["tags"] as? [String] } == sentences.map { $0.map { $0[2] } }, "the last column, as evaluate reads CoNLL")

        // Scored as it is, it gives the run's own dev report (the same model on the same sentences).
        let evaluation = try runTool(["evaluate", output.path, "--json"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        let runReport = try runTool(["evaluate", model.deletingLastPathComponent().appendingPathComponent("predictions/dev.conll").path, "--json"])
        #expect(evaluation.stdout == runReport.stdout)

        // Another column by --label-column; a label column for JSON Lines input is refused.
        let pos = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", output.path,
                               "--format", "jsonl", "--label-column", "1", "--threads", "1"])
        #expect(pos.status == 0, "\(pos.stderr)")
        #expect(try CorpusFormatCommandTests.jsonRows(output).map { $0["tags"] as? [String] } == sentences.map { $0.map { $0[1] } })
        let refused = try runTool(["predict", "--model", model.path, "--input", output.path, "--output", output.path + ".out",
                                   "--label-column", "1"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--label-column"), "\(refused.stderr)")
    }

    @Test func jsonLinesInGivesJSONLinesWithPredictionsOut() throws {
        let model = try bestModel()
        let files = try TinyCLIFixture.files.get()
        let input = files.root.appendingPathComponent("text-\(UUID().uuidString.prefix(8)).jsonl")
        try """
            {"tokens": ["mr", "Smith", "said", "."]}
            {"tokens": ["she", "visited", "Rome"]}

            """.write(to: input, atomically: true, encoding: .utf8)
        let output = input.deletingPathExtension().appendingPathExtension("out.jsonl")
        let result = try runTool(["predict", "--model", model.path, "--input", input.path, "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(rows.count == 2)
        #expect(rows.map { ($0["tokens"] as? [String])?.count } == [4, 3])
        #expect(rows.map { ($0["predictions"] as? [String])?.count } == [4, 3])
    }

    @Test func aMissingModelDirectoryIsAClearErrorAndNonZeroExit() throws {
        let files = try TinyCLIFixture.files.get()
        let missing = files.root.appendingPathComponent("no-such-model").path
        let output = files.root.appendingPathComponent("never-written.conll")
        let result = try runTool(["predict", "--model", missing, "--input", files.dev.path, "--output", output.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(missing): model directory not found"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func anEncoderWithoutAClassifierIsAnErrorNamingWhatIsMissing() throws {
        // The pretrained encoder has no classifier and no labels: it cannot tag.
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("never-written-2.conll")
        let result = try runTool(["predict", "--model", files.model.path, "--input", files.dev.path, "--output", output.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(files.model.path)/model.safetensors: no classifier (classifier.weight, classifier.bias)"), "\(result.stderr)")
        #expect(result.stderr.contains("Fine-tune it first"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func aMissingInputIsAClearError() throws {
        let model = try bestModel()
        let result = try runTool(["predict", "--model", model.path, "--input", "/nonexistent/input.conll", "--output", "/tmp/x"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/input.conll: no such file"), "\(result.stderr)")
    }
}
