import Foundation
import Testing

/// A run of `train --context 6` on the tiny fixture, made once and shared by the context tests of both commands.
enum ContextRunFixture {
    static let context = 6
    static let trainedRun: Result<(output: URL, result: ToolResult), any Error> = Result {
        let files = try TinyCLIFixture.files.get()
        let output = files.root.appendingPathComponent("context-run")
        let result = try runTool(TinyCLIFixture.trainArguments(files, output: output, epochs: 2) + ["--context", String(context)])
        return (output, result)
    }
}

/// `train --context`: sentences trained and scored with their document neighbours as context.
@Suite struct ContextTrainCommandTests {
    @Test func trainWithContextRunsAndRecordsItInTheOptions() throws {
        let (output, trained) = try ContextRunFixture.trainedRun.get()
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("with up to 6 sub-words of document context on each side"), "\(trained.stderr)")
        #expect(trained.stdout.hasPrefix("best dev f1: "))
        let options = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("options.json"))) as? [String: Any])
        #expect(options["context"] as? Int == ContextRunFixture.context)
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("predictions/dev.conll").path))
    }

    @Test func aNegativeContextIsRejected() throws {
        let train = try runTool(["train", "--train", "a.txt", "--dev", "b.txt", "--output", "o", "--context=-3"])
        #expect(train.status != 0)
        #expect(train.stderr.contains("--context must not be negative"), "\(train.stderr)")
    }
}

/// `predict --context`: the same path as training's dev and test predictions.
@Suite struct ContextPredictCommandTests {
    @Test func predictWithTheTrainingContextGivesTheRunsDevPredictions() throws {
        let (output, trained) = try ContextRunFixture.trainedRun.get()
        try #require(trained.status == 0, "training the model to predict with failed: \(trained.stderr)")
        let files = try TinyCLIFixture.files.get()
        let predicted = files.root.appendingPathComponent("context-predicted-\(UUID().uuidString.prefix(8)).conll")
        let result = try runTool(["predict", "--model", output.appendingPathComponent("best").path, "--input", files.dev.path,
                                  "--output", predicted.path, "--threads", "1", "--context", String(ContextRunFixture.context)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("tagged 12 sentences"), "\(result.stderr)")
        // The same model, data and context: exactly the dev predictions the run wrote.
        let runPredictions = try String(contentsOf: output.appendingPathComponent("predictions/dev.conll"), encoding: .utf8)
        #expect(try String(contentsOf: predicted, encoding: .utf8) == runPredictions)
    }

    @Test func aNegativeContextIsRejected() throws {
        let predict = try runTool(["predict", "--model", "m", "--input", "a.txt", "--output", "o", "--context=-3"])
        #expect(predict.status != 0)
        #expect(predict.stderr.contains("--context must not be negative"), "\(predict.stderr)")
    }

    @Test func theHelpSaysTheContextComesFromTheModelsTaggingSettings() throws {
        let help = try runTool(["predict", "--help"])
        // Help wraps to the terminal's width: compare with the line breaks and indents taken out.
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("--context <N>"), "\(help.stdout)")
        #expect(text.contains("Default: the model's tagging.json, which records the context it was trained with"), "\(help.stdout)")
    }
}
