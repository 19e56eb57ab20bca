import Foundation
import Testing
@testable import Training

/// Mistakes a user can make are reported before any training step, with the file, line or option and
/// what to do, and leave existing runs alone.
@Suite(.serialized) struct TrainerErrorTests {
    /// Runs `options` expecting an error; returns its description. Fails the test if a step was taken.
    func startError(_ options: TrainingOptions, resume: Bool = false,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        var steps = 0
        do {
            try TinyTaggingTask.run(options, resume: resume) { _ in steps += 1 }
        } catch {
            #expect(steps == 0, "\(steps) steps ran before the error", sourceLocation: sourceLocation)
            return String(describing: error)
        }
        Issue.record("the run started", sourceLocation: sourceLocation)
        return ""
    }

    @Test func devLabelsTrainingNeverSawAreNamedWithTheirLine() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let dev = task.root.appendingPathComponent("dev-with-misc.txt")
        try "-DOCSTART- -X- O\n\nthe DT O\nnews NN B-MISC\n\nParis NNP B-LOC\nOslo NNP B-EVENT\nOslo NNP I-EVENT\n"
            .write(to: dev, atomically: true, encoding: .utf8)
        var options = task.options(output: task.runDirectory())
        options.dev = dev.path
        let message = try startError(options)
        #expect(message.contains(dev.path))
        #expect(message.contains("\"B-MISC\" (line 4)"), "\(message)")
        #expect(message.contains("\"B-EVENT\" (line 7)") && message.contains("\"I-EVENT\" (line 8)"), "\(message)")
        #expect(message.contains("--label-column"))

        // Nothing of a run was left behind, so the same --output works once the data is fixed.
        options.dev = task.dev.path
        try TinyTaggingTask.run(options)
    }

    @Test func testLabelsTrainingNeverSawAreAnErrorToo() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let test = task.root.appendingPathComponent("test-bad.txt")
        try "Paris NNP B-LOC\nrose VBD B-VERB\n".write(to: test, atomically: true, encoding: .utf8)
        var options = task.options(output: task.runDirectory())
        options.test = test.path
        let message = try startError(options)
        #expect(message.contains("\(test.path): labels the training data never uses: \"B-VERB\" (line 2)"), "\(message)")
    }

    @Test(arguments: ["", "-DOCSTART- -X- O\n\n\n-DOCSTART- -X- O\n"])
    func emptyTrainingDataIsAnError(text: String) throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let empty = task.root.appendingPathComponent("empty.txt")
        try text.write(to: empty, atomically: true, encoding: .utf8)
        var options = task.options(output: task.runDirectory())
        options.train = empty.path
        let message = try startError(options)
        #expect(message.contains("\(empty.path): no sentences"), "\(message)")
    }

    @Test func aMissingTrainingFileSaysHowToProvideOne() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        var options = task.options(output: task.runDirectory())
        options.train = task.root.appendingPathComponent("nowhere/train.txt").path
        let message = try startError(options)
        #expect(message.contains("\(options.train): training data not found"), "\(message)")
        #expect(message.contains("Scripts/setup.sh"))
    }

    @Test func aModelDirectoryWithoutWeightsIsAnError() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        try FileManager.default.removeItem(at: task.model.appendingPathComponent("model.safetensors"))
        let message = try startError(task.options(output: task.runDirectory()))
        #expect(message.contains("\(task.model.path)/model.safetensors does not exist"), "\(message)")
    }

    @Test func aModelDirectoryWithoutTokenizerIsAnError() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        for file in ["vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.removeItem(at: task.model.appendingPathComponent(file))
        }
        let message = try startError(task.options(output: task.runDirectory()))
        #expect(message.contains("\(task.model.path): no tokenizer.json and no vocab.txt"), "\(message)")
    }

    @Test func aMissingModelDirectoryIsAnError() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        var options = task.options(output: task.runDirectory())
        options.model = task.root.appendingPathComponent("no-such-model").path
        let message = try startError(options)
        #expect(message.contains("\(options.model): model directory not found"), "\(message)")
    }

    @Test func anOutputDirectoryHoldingAnotherRunIsLeftAlone() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        try TinyTaggingTask.run(task.options(output: run, epochs: 1))
        let before = try Data(contentsOf: run.appendingPathComponent("metrics/steps.jsonl"))
        let bestBefore = try Data(contentsOf: run.appendingPathComponent("best/model.safetensors"))

        var again = task.options(output: run, epochs: 1)
        again.learningRate = 1e-3
        let message = try startError(again)
        #expect(message == "\(run.path) already holds a run. Pass --resume to continue it, or choose another --output.")
        #expect(try Data(contentsOf: run.appendingPathComponent("metrics/steps.jsonl")) == before)
        #expect(try Data(contentsOf: run.appendingPathComponent("best/model.safetensors")) == bestBefore)
    }

    @Test func resumingWithNothingToResumeIsAnError() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        let message = try startError(task.options(output: run), resume: true)
        #expect(message.contains("\(run.path): no resumable state (last/trainer_state.json)"), "\(message)")
        #expect(message.contains("Start without --resume"))
    }

    @Test func resumingWithDifferentOptionsNamesTheOption() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        let interruption = Interruption()
        try TinyTaggingTask.run(task.options(output: run), interruption: interruption) { _ in interruption.request() }

        var changed = task.options(output: run)
        changed.learningRate = 1e-3
        let message = try startError(changed, resume: true)
        #expect(message.contains("the run was started with --lr 0.005 (learningRate in options.json), but this command gives --lr 0.001"), "\(message)")

        var otherData = task.options(output: run)
        otherData.train = task.dev.path
        #expect(try startError(otherData, resume: true).contains("the run was started with --train \(task.train.path) (train in options.json)"))

        // Where and how often to log, and the thread count, may change between the two halves of a run.
        var harmless = task.options(output: run)
        harmless.logEvery = 5
        harmless.saveEvery = 2
        harmless.threads = 2
        let (summary, _) = try TinyTaggingTask.run(harmless, resume: true)
        #expect(!summary.interrupted && summary.steps == ResumeTests.batches(epochs: 2))
    }
}
