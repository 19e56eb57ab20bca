import BERT
import Datasets
import Foundation
import Testing
@testable import Training
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a run leaves behind when it fails, how it stops, and how it speaks.
@Suite(.serialized) struct RunLifecycleTests {
    @Test func aRunThatFailsBeforeStartingLeavesNoRunDirectory() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        let bad = task.root.appendingPathComponent("bad.conll")
        try "a O\nb\n".write(to: bad, atomically: true, encoding: .utf8)
        var options = task.options(output: run)
        options.train = bad.path
        #expect(throws: (any Error).self) { try TinyTaggingTask.run(options) }
        #expect(!FileManager.default.fileExists(atPath: run.path))

        options = task.options(output: run)
        options.maxLength = 65  // beyond the tiny model's 64 positions
        let error = try #require(throws: (any Error).self) { try TinyTaggingTask.run(options) }
        #expect("\(error)".contains("--max-length 65 exceeds the model's max_position_embeddings (64, in \(task.model.path)/config.json)"))
        #expect(!FileManager.default.fileExists(atPath: run.path))
    }

    @Test func aDirectoryGivenAsDataIsSaidToBeADirectory() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        var options = task.options(output: task.runDirectory())
        options.dev = task.root.path
        let error = try #require(throws: TrainingError.self) { try TinyTaggingTask.run(options) }
        #expect(error.description == "\(task.root.path): cannot read the dev data (is a directory, not a file). Check the path.")
    }

    @Test func theBestModelSavedThroughASymbolicLinkReplacesItsTargetAndKeepsTheLink() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let elsewhere = task.root.appendingPathComponent("models-kept-elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: run.appendingPathComponent("best"), withDestinationURL: elsewhere)
        try TinyTaggingTask.run(task.options(output: run, epochs: 1))
        var info = stat()
        #expect(lstat(run.appendingPathComponent("best").path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
        #expect(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("model.safetensors").path))
        #expect(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("config.json").path))
    }

    @Test func aLastDirectoryMovedElsewhereAndLinkedIsResumedThroughTheLinkWhichStays() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        let interruption = Interruption()
        let stopped = try TinyTaggingTask.run(task.options(output: run, epochs: 2), interruption: interruption) { step in
            if step == 3 { interruption.request() }
        }
        try #require(stopped.summary.interrupted)
        let last = run.appendingPathComponent("last")
        let elsewhere = task.root.appendingPathComponent("state-kept-elsewhere")
        try FileManager.default.moveItem(at: last, to: elsewhere)
        try FileManager.default.createSymbolicLink(at: last, withDestinationURL: elsewhere)

        let finished = try TinyTaggingTask.run(task.options(output: run, epochs: 2), resume: true)
        #expect(!finished.summary.interrupted && finished.summary.steps > 3)
        var info = stat()
        #expect(lstat(last.path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK, "the link stays")
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: elsewhere.appendingPathComponent("trainer_state.json")))
        #expect(state.finished && state.step == finished.summary.steps, "its target holds the final state")
    }

    @Test func aSecondSignalStopsAtOnceInsteadOfSaving() {
        final class Calls: @unchecked Sendable {
            let lock = NSLock()
            var second = 0
        }
        let calls = Calls()
        let interruption = Interruption(onSecond: { calls.lock.lock(); calls.second += 1; calls.lock.unlock() })
        var first = 0
        interruption.received(1) { first += 1 }
        #expect(interruption.isRequested && first == 1 && calls.second == 0)
        interruption.received(1) { first += 1 }
        #expect(first == 1 && calls.second == 1, "the second signal does not ask for a save again")

        // Two signals delivered as one event count as two.
        let together = Interruption(onSecond: { calls.lock.lock(); calls.second += 1; calls.lock.unlock() })
        together.received(2) { first += 1 }
        #expect(first == 1 && calls.second == 2)
        #expect(Interruption.secondSignalMessage.contains("without saving"))
    }

    /// Once the last step is done, a first Ctrl-C has nothing left to save: one that came during the last
    /// evaluation stops before the final reports (the state is saved as finished, and --resume writes
    /// them), and one that comes while they are written stops at once, instead of promising a save and
    /// running on to the end.
    @Test func aCtrlCAfterTheLastStepStopsBeforeTheReportsAndResumeWritesThem() throws {
        final class Record: @unchecked Sendable {
            let lock = NSLock()
            var lines: [String] = []
            var stoppedAtOnce = 0
            var asksForSave = 0
            func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
            func count(_ keyPath: ReferenceWritableKeyPath<Record, Int>) { lock.lock(); self[keyPath: keyPath] += 1; lock.unlock() }
        }
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let run = task.runDirectory()
        let options = task.options(output: run, epochs: 2)
        let record = Record()
        let first = Interruption(onSecond: { record.count(\.stoppedAtOnce) })
        let stopped = try Trainer(options: options, interruption: first, progressInteractive: false) { line in
            record.add(line)
            if line.hasPrefix("dev at step") && line.contains("(epoch 2.00)") { first.request() }
        }.run()
        #expect(stopped.interrupted)
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("reports").path), "no reports after the stop")
        #expect(record.lines.contains { $0.contains("training is finished and saved") && $0.contains("--resume \(run.path)") },
                "\(record.lines.suffix(3))")

        let second = Interruption(onSecond: { record.count(\.stoppedAtOnce) })
        let finished = try Trainer(options: options, resume: true, interruption: second, progressInteractive: false) { line in
            if line.hasPrefix("dev (best model):\n") { second.received(1) { record.count(\.asksForSave) } }
        }.run()
        #expect(!finished.interrupted && finished.testReport != nil)
        #expect(record.stoppedAtOnce == 1 && record.asksForSave == 0, "a Ctrl-C while the reports are written stops at once")
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("reports/test.txt").path))
    }

    @Test func theIgnoredTensorsNoteListsAsManyNamesAsItCounts() {
        let names = ["embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight"]
        #expect(Trainer.summarize(names) == "embeddings.position_ids, pooler.dense.{bias,weight}")
        #expect(Trainer.summarize(["cls.predictions.bias"]) == "cls.predictions.bias")
    }

    @Test func countsTakeTheSingularForOne() {
        #expect(counted(1, "batch") == "1 batch")
        #expect(counted(2, "batch") == "2 batches")
        #expect(counted(0, "sentence") == "0 sentences")
        #expect(counted(1, "training sequence") == "1 training sequence")
        #expect(counted(3, "index", plural: "indices") == "3 indices")
    }

    @Test func aOneBatchRunSaysBatchAndStepInTheSingular() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        var options = task.options(output: task.runDirectory(), epochs: 1, batchTokens: 4096)
        options.maxLength = 64
        let (_, messages) = try TinyTaggingTask.run(options)
        let line = try #require(messages.first { $0.contains("training sequences") })
        #expect(line.contains("; 1 batch of ≤4096 tokens → 1 step per epoch"), "\(line)")
    }

    @Test func droppingMetricsRowsReplacesTheFilesWholeAndKeepsAppending() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-drop-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try MetricsLog(directory: folder, name: "steps")
        for step in 1...4 { try log.append(MetricsRecord([("step", .int(step)), ("loss", .number(1))])) }
        try log.dropRows(afterStep: 2)
        try log.append(MetricsRecord([("step", .int(3)), ("loss", .number(0.5))]))
        let csv = try String(contentsOf: folder.appendingPathComponent("steps.csv"), encoding: .utf8)
        #expect(csv == "step,loss\n1,1.0\n2,1.0\n3,0.5\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["steps.csv", "steps.jsonl"])
    }
}
