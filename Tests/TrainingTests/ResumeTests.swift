import Foundation
import Testing
@testable import Training

/// Reproducibility: the same seed, data and threads give the same run, and a run stopped and resumed ends
/// exactly where a run never stopped ends.
@Suite(.serialized) struct ResumeTests {
    /// 60 training sentences drawn at random into batches of at most 96 tokens: with seed 42 the first
    /// three epochs make 6, 7 and 7 micro-batches.
    static let batchesPerEpoch = [6, 7, 7]
    /// Micro-batches (steps without accumulation) of the first `epochs` epochs.
    static func batches(epochs: Int) -> Int { batchesPerEpoch.prefix(epochs).reduce(0, +) }

    @Test func sameSeedDataAndThreadsGiveIdenticalLosses() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let first = task.runDirectory("first"), second = task.runDirectory("second"), other = task.runDirectory("other")
        try TinyTaggingTask.run(task.options(output: first))
        try TinyTaggingTask.run(task.options(output: second))
        var otherSeed = task.options(output: other)
        otherSeed.seed = 43
        try TinyTaggingTask.run(otherSeed)

        let losses = column(try metricsRows(first, "steps"), "loss")
        #expect(losses.count == Self.batches(epochs: 2))
        #expect(losses == column(try metricsRows(second, "steps"), "loss"))
        #expect(column(try metricsRows(first, "steps"), "grad_norm") == column(try metricsRows(second, "steps"), "grad_norm"))
        #expect(try differingTensors(first.appendingPathComponent("last/model.safetensors"),
                                     second.appendingPathComponent("last/model.safetensors")).isEmpty)
        // The seed orders the batches, initialises the classifier and draws the dropout masks: another one
        // gives another run, so the equality above is not vacuous.
        #expect(losses != column(try metricsRows(other, "steps"), "loss"))
    }

    struct Stop: CustomTestStringConvertible, Sendable {
        var accumulation: Int
        var evalEvery: Int?
        var afterStep: Int
        var testDescription: String {
            "stopped after step \(afterStep), gradient accumulation \(accumulation)" + (evalEvery.map { ", eval every \($0)" } ?? "")
        }
    }

    /// With accumulation 2, the first epoch's 6 micro-batches make 3 steps and the second's 7 make 4 (the
    /// last one a single batch).
    @Test(arguments: [
        Stop(accumulation: 1, afterStep: 3),               // mid-epoch
        Stop(accumulation: 1, afterStep: 6),               // at the end of the first epoch, after its evaluation
        Stop(accumulation: 1, afterStep: 10),              // mid-way through the second epoch
        Stop(accumulation: 1, evalEvery: 2, afterStep: 4), // just after a mid-epoch evaluation
        Stop(accumulation: 2, afterStep: 2),               // mid-epoch, after a full accumulation
        Stop(accumulation: 2, afterStep: 3),               // at the first epoch's end
        Stop(accumulation: 2, afterStep: 5),               // mid-way through the second epoch
        Stop(accumulation: 2, afterStep: 6),               // just before the single-batch step
    ])
    func aResumedRunEndsBitIdenticalToAnUninterruptedOne(stop: Stop) throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        func options(_ output: URL) -> TrainingOptions {
            var options = task.options(output: output)
            options.gradientAccumulation = stop.accumulation
            options.evalEvery = stop.evalEvery
            return options
        }
        let reference = task.runDirectory("reference"), resumed = task.runDirectory("resumed")
        let whole = try TinyTaggingTask.run(options(reference)).summary

        let interruption = Interruption()
        let stopped = try TinyTaggingTask.run(options(resumed), interruption: interruption) { step in
            if step == stop.afterStep { interruption.request() }
        }
        #expect(stopped.summary.interrupted)
        #expect(stopped.summary.steps == stop.afterStep)
        #expect(stopped.messages.last?.contains("--resume") == true)
        #expect(!FileManager.default.fileExists(atPath: resumed.appendingPathComponent("reports").path),
                "a stopped run writes no final reports")
        let saved = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: resumed.appendingPathComponent("last/trainer_state.json")))
        #expect(saved.step == stop.afterStep && !saved.finished)

        let finished = try TinyTaggingTask.run(options(resumed), resume: true)
        #expect(!finished.summary.interrupted)
        #expect(finished.messages.contains { $0.hasPrefix("resuming at epoch") })
        #expect(finished.summary.steps == whole.steps)
        #expect(finished.summary.bestScore == whole.bestScore && finished.summary.bestStep == whole.bestStep)
        #expect(finished.summary.devReport == whole.devReport && finished.summary.testReport == whole.testReport)

        for file in ["last/model.safetensors", "last/optimizer.safetensors", "best/model.safetensors"] {
            let differences = try differingTensors(reference.appendingPathComponent(file), resumed.appendingPathComponent(file))
            #expect(differences.isEmpty, "\(file): \(differences.prefix(5))")
        }
        let referenceState = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: reference.appendingPathComponent("last/trainer_state.json")))
        var resumedState = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: resumed.appendingPathComponent("last/trainer_state.json")))
        resumedState.elapsedSeconds = referenceState.elapsedSeconds
        #expect(resumedState == referenceState)

        // The logs read as one run: every step once, the same losses, the same evaluations.
        let referenceSteps = try metricsRows(reference, "steps"), resumedSteps = try metricsRows(resumed, "steps")
        #expect(column(resumedSteps, "step") == (1...whole.steps).map(Double.init))
        #expect(column(resumedSteps, "loss") == column(referenceSteps, "loss"))
        let referenceEvaluations = try metricsRows(reference, "evaluations"), resumedEvaluations = try metricsRows(resumed, "evaluations")
        #expect(column(resumedEvaluations, "step") == column(referenceEvaluations, "step"))
        #expect(column(resumedEvaluations, "f1") == column(referenceEvaluations, "f1"))
        let csvRows = try String(contentsOf: resumed.appendingPathComponent("metrics/steps.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",").first.map(String.init) ?? "" }
        #expect(csvRows == (1...whole.steps).map(String.init))
    }

    /// A second Ctrl-C before the first save leaves options.json, labels.json and the step logs but no
    /// state: `--resume` starts that run again from its first step, with its recorded options, instead of
    /// refusing it (while a new run in the same directory is refused too).
    @Test func aRunStoppedBeforeItsFirstSaveResumesFromItsFirstStep() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let reference = task.runDirectory("reference"), resumed = task.runDirectory("resumed")
        let whole = try TinyTaggingTask.run(task.options(output: reference)).summary

        let interruption = Interruption()
        let stopped = try TinyTaggingTask.run(task.options(output: resumed), interruption: interruption) { step in
            if step == 3 { interruption.request() }
        }
        try #require(stopped.summary.interrupted)
        // What a second Ctrl-C leaves: the same run, minus the state the first one would have saved.
        try FileManager.default.removeItem(at: resumed.appendingPathComponent("last"))
        #expect(try metricsRows(resumed, "steps").count == 3)

        let finished = try TinyTaggingTask.run(task.options(output: resumed), resume: true)
        #expect(!finished.summary.interrupted)
        #expect(finished.messages.contains { $0.contains("no state was saved") && $0.contains("from its first step") },
                "\(finished.messages)")
        #expect(finished.summary.steps == whole.steps && finished.summary.bestScore == whole.bestScore)
        for file in ["last/model.safetensors", "best/model.safetensors"] {
            let differences = try differingTensors(reference.appendingPathComponent(file), resumed.appendingPathComponent(file))
            #expect(differences.isEmpty, "\(file): \(differences.prefix(5))")
        }
        #expect(column(try metricsRows(resumed, "steps"), "step") == (1...whole.steps).map(Double.init), "every step logged once")
        #expect(column(try metricsRows(resumed, "steps"), "loss") == column(try metricsRows(reference, "steps"), "loss"))
    }

    /// A run stopped after step 5 whose run folder `damage` then changes as a killed save would have left it:
    /// resumed, it continues from step 5 and ends with the weights of an uninterrupted run; `check` then looks at the folder.
    private func resumeAfterAKilledSave(damage: (URL) throws -> Void, check: (URL) throws -> Void) throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let reference = task.runDirectory("reference"), resumed = task.runDirectory("resumed")
        try TinyTaggingTask.run(task.options(output: reference))
        let interruption = Interruption()
        try TinyTaggingTask.run(task.options(output: resumed), interruption: interruption) { step in
            if step == 5 { interruption.request() }
        }
        try damage(resumed)
        let finished = try TinyTaggingTask.run(task.options(output: resumed), resume: true)
        #expect(finished.messages.contains { $0.hasPrefix("resuming at epoch 1, step 5") }, "\(finished.messages)")
        #expect(try differingTensors(reference.appendingPathComponent("last/model.safetensors"),
                                     resumed.appendingPathComponent("last/model.safetensors")).isEmpty)
        try check(resumed)
    }

    @Test func aKillBetweenTheTwoRenamesOfASaveResumesFromTheStateSetAside() throws {
        // Where the file system cannot exchange two directories in one step, a save moves last/ aside to
        // .last.old-UUID/ before the staged state (.last.partial-UUID/) takes its place: a kill between the two
        // renames leaves no last/. The resume puts the set-aside state back and removes the unfinished one.
        let fm = FileManager.default
        try resumeAfterAKilledSave(damage: { run in
            try fm.moveItem(at: run.appendingPathComponent("last"), to: run.appendingPathComponent(".last.old-\(UUID().uuidString)"))
            let unfinished = run.appendingPathComponent(".last.partial-\(UUID().uuidString)")
            try fm.createDirectory(at: unfinished, withIntermediateDirectories: false)
            try Data("{".utf8).write(to: unfinished.appendingPathComponent("trainer_state.json"))
        }, check: { run in
            let left = try fm.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".last.") }
            #expect(left.isEmpty, "\(left)")
        })
    }

    @Test func aRunKilledWhileAnEarlierBuildReplacedLastResumesFromItsPreviousCopy() throws {
        // Earlier builds moved last/ aside to last.previous/ before the new state took its place: a kill between
        // the two moves left only last.previous/.
        try resumeAfterAKilledSave(damage: { run in
            try FileManager.default.moveItem(at: run.appendingPathComponent("last"), to: run.appendingPathComponent("last.previous"))
        }, check: { run in
            #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("last.previous").path))
        })
    }

    @Test func aStateSavedEveryFewStepsResumesAfterTheLastSave() throws {
        // A kill (no chance to save) loses only the steps since the last periodic save: emulate one by
        // going back to a copy of the run directory taken in the middle of a run.
        let task = try TinyTaggingTask()
        defer { task.remove() }
        var options = task.options(output: task.runDirectory("reference"))
        options.saveEvery = 3
        let reference = URL(fileURLWithPath: options.output)
        try TinyTaggingTask.run(options)

        let killed = task.runDirectory("killed")
        options.output = killed.path
        let snapshot = task.root.appendingPathComponent("snapshot")
        let fm = FileManager.default
        try TinyTaggingTask.run(options, onStep: { step in
            // Steps run before the periodic save, so at step 5 the state of step 3 is on disk and the logs
            // already hold steps 4 and 5: what a kill at this moment leaves.
            if step == 5 { try? fm.copyItem(at: killed, to: snapshot) }
        })
        try fm.removeItem(at: killed)
        try fm.moveItem(at: snapshot, to: killed)
        #expect(column(try metricsRows(killed, "steps"), "step") == [1, 2, 3, 4, 5])

        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: killed.appendingPathComponent("last/trainer_state.json")))
        #expect(state.step == 3)
        try TinyTaggingTask.run(options, resume: true)
        #expect(try differingTensors(reference.appendingPathComponent("last/model.safetensors"),
                                     killed.appendingPathComponent("last/model.safetensors")).isEmpty)
        let steps = try metricsRows(killed, "steps")
        #expect(column(steps, "step") == (1...Self.batches(epochs: 2)).map(Double.init))
        #expect(column(steps, "loss") == column(try metricsRows(reference, "steps"), "loss"))
    }
}
