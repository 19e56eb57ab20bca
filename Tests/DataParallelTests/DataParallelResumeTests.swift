import Foundation
import Testing

/// `train --resume` under `mpirun` with another rank count than the run that saved the state.
extension DataParallelCommandTests {
    /// Starts `arguments` alone and sends SIGTERM once the step log has `steps` rows: the run saves its state at
    /// the next step and exits with 130.
    func stoppedAlone(_ arguments: [String], run: URL, afterSteps steps: Int) throws -> MPIRun.Result {
        let process = Process()
        process.executableURL = Self.tool
        process.arguments = arguments
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        final class Box: @unchecked Sendable { var data = Data() }  // written before leave(), read after wait()
        let box = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { box.data = error.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let log = run.appendingPathComponent("metrics/steps.jsonl")
        while process.isRunning {
            let rows = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if rows >= steps { process.terminate(); break }
            usleep(2_000)
        }
        group.wait()
        process.waitUntilExit()
        return MPIRun.Result(status: process.terminationStatus, stdout: "", stderr: String(decoding: box.data, as: UTF8.self))
    }

    @Test func aRunSavedAloneResumesOnTwoRanksToTheWeightsOfAnUninterruptedRun() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let reference = task.root.appendingPathComponent("reference"), resumed = task.root.appendingPathComponent("resumed")
        // Enough epochs that the stop comes well before the end.
        let extra = ["--epochs", "20", "--save-every", "1000"]
        let whole = try alone(trainArguments(task, output: reference, extra: extra))
        try #require(whole.status == 0, "\(whole.stderr)")

        let stopped = try stoppedAlone(trainArguments(task, output: resumed, extra: extra), run: resumed, afterSteps: 5)
        try #require(stopped.status == 130, "the run was to be stopped and saved: \(stopped.status) \(stopped.stderr)")
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: resumed.appendingPathComponent("last/trainer_state.json"))) as? [String: Any]
        let savedStep = try #require(state?["step"] as? Int)
        #expect(savedStep >= 5 && state?["finished"] as? Bool == false)

        // Another global batch is refused, naming the option.
        let other = try twoRanks(["train", "--resume", resumed.path, "--batch-tokens", "128"])
        #expect(other.status != 0)
        #expect(other.stderr.contains("--batch-tokens"), "\(other.stderr)")

        let finished = try twoRanks(["train", "--resume", resumed.path])
        try #require(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stderr.contains("the run was saved by 1 rank and goes on with 2"), "\(finished.stderr)")
        let (difference, tensor) = try Self.largestRelativeDifference(reference.appendingPathComponent("last/model.safetensors"),
                                                                       resumed.appendingPathComponent("last/model.safetensors"))
        // Rounding differences grow with the steps at this high learning rate: about 1e-5 relative after 240
        // steps, measured; one AdamW step moves a weight by about the learning rate (5e-3), so a resume from
        // another state or with other steps is off by far more.
        #expect(difference < 1e-4, "largest relative difference \(difference) in \(tensor)")
        let steps = try Self.rows(resumed, "steps").compactMap { $0["step"] as? Int }
        #expect(steps == Array(1 ... steps.count), "one log row per step, the saved run's and the resumed one's")
    }
}

extension DataParallelCommandTests {
    @Test func anErrorUnderMPIRunEndsEveryRankAndSaysWhatItWas() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let missing = task.root.appendingPathComponent("no-such-train.txt")
        let result = try twoRanks(["train", "--model", task.model.path, "--train", missing.path, "--dev", task.dev.path,
                                   "--output", task.root.appendingPathComponent("run").path, "--threads", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(missing.path), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: task.root.appendingPathComponent("run").path),
                "a run that fails before it starts leaves no run directory")
    }
}
