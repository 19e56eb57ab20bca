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
    /// Lines of `stderr` that tell an error.
    static func errorLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("Error") }
    }

    @Test func aFileEveryRankReadsIsMissingTheErrorIsToldOnceByRankZeroAndEndsEveryRank() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let missing = task.root.appendingPathComponent("no-such-train.txt")
        let result = try twoRanks(["train", "--model", task.model.path, "--train", missing.path, "--dev", task.dev.path,
                                   "--output", task.root.appendingPathComponent("run").path, "--threads", "1"])
        #expect(result.status != 0)
        let errors = Self.errorLines(result.stderr)
        #expect(errors.count == 1 && errors[0].hasPrefix("Error: ") && errors[0].contains(missing.path), "\(result.stderr)")
        #expect(!result.stderr.contains("rank 1 of 2"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: task.root.appendingPathComponent("run").path),
                "a run that fails before it starts leaves no run directory")
    }

    @Test func aBadOptionUnderMPIRunIsToldOnce() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let result = try twoRanks(trainArguments(task, output: task.root.appendingPathComponent("run"), extra: ["--epochs", "0"]))
        #expect(result.status != 0)
        #expect(result.stderr.components(separatedBy: "--epochs must be positive").count == 2, "\(result.stderr)")
        #expect(!result.stderr.contains("rank 1 of 2"), "\(result.stderr)")
    }

    /// A word longer than a window, in the last line: only the rank tagging the end of the file meets it.
    @Test func aFailureOfOneRanksShareIsToldByThatRankWithItsNumber() throws {
        let task = try TinyTask()
        defer { task.remove() }
        let run = task.root.appendingPathComponent("run")
        let trained = try alone(trainArguments(task, output: run, extra: ["--epochs", "1"]))
        try #require(trained.status == 0, "\(trained.stderr)")
        let input = task.root.appendingPathComponent("long-word.txt")
        try (TinyTask.lines(39, seed: 5) + "Mr Smith " + String(repeating: "x", count: 80) + " .\n")
            .write(to: input, atomically: true, encoding: .utf8)
        let result = try twoRanks(["predict", "--model", run.appendingPathComponent("best").path, "--input", input.path,
                                   "--threads", "1", "--batch-tokens", "64", "--output", task.root.appendingPathComponent("out.jsonl").path])
        #expect(result.status != 0)
        let errors = Self.errorLines(result.stderr)
        #expect(errors.count == 1, "\(result.stderr)")
        #expect(errors.first?.hasPrefix("Error (rank 1 of 2): \(input.path):40: the word \"xxxx") == true, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: task.root.appendingPathComponent("out.jsonl").path))
    }
}
