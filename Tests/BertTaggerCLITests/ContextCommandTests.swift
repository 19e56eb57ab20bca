import Foundation
import Testing

/// `train --context` and `predict --context`: sentences fed with their document neighbours.
@Suite struct ContextCommandTests {
    @Test func trainWithContextRecordsItAndPredictWithTheSameContextGivesTheRunsPredictions() throws {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("context-\(UUID().uuidString.prefix(8))")
        let trained = try runTool(TinyCLIFixture.trainArguments(files, output: output, epochs: 2) + ["--context", "6"])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("with up to 6 sub-words of document context on each side"), "\(trained.stderr)")
        #expect(trained.stdout.hasPrefix("best dev f1: "))
        let options = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("options.json"))) as? [String: Any])
        #expect(options["context"] as? Int == 6)

        let predicted = files.root.appendingPathComponent("context-predicted-\(UUID().uuidString.prefix(8)).conll")
        let result = try runTool(["predict", "--model", output.appendingPathComponent("best").path, "--input", files.dev.path,
                                  "--output", predicted.path, "--threads", "1", "--context", "6"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("tagged 12 sentences"), "\(result.stderr)")
        // The same model, data and context: exactly the dev predictions the run wrote.
        let runPredictions = try String(contentsOf: output.appendingPathComponent("predictions/dev.conll"), encoding: .utf8)
        #expect(try String(contentsOf: predicted, encoding: .utf8) == runPredictions)
    }

    @Test func aNegativeContextIsRejectedByBothCommands() throws {
        let train = try runTool(["train", "--train", "a.txt", "--dev", "b.txt", "--output", "o", "--context=-3"])
        #expect(train.status != 0)
        #expect(train.stderr.contains("--context must not be negative"), "\(train.stderr)")
        let predict = try runTool(["predict", "--model", "m", "--input", "a.txt", "--output", "o", "--context=-3"])
        #expect(predict.status != 0)
        #expect(predict.stderr.contains("--context must not be negative"), "\(predict.stderr)")
    }

    @Test func theHelpTellsToPassTheTrainingContextToPredict() throws {
        let help = try runTool(["predict", "--help"])
        // Help wraps to the terminal's width: compare with the line breaks and indents taken out.
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("--context <N>"), "\(help.stdout)")
        #expect(text.contains("give the --context it was trained with"), "\(help.stdout)")
    }
}
