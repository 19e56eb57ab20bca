import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Outputs that never damage what they point at, resuming a run by its directory, and the checks that
/// come before any model loads.
@Suite struct OutputsAndRunsTests {
    func bestModel() throws -> URL {
        let (output, result) = try TinyCLIFixture.trainedRun.get()
        try #require(result.status == 0, "training the model to predict with failed: \(result.stderr)")
        return output.appendingPathComponent("best")
    }

    func scratch(_ name: String) throws -> URL {
        let folder = try TinyCLIFixture.files.get().root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    /// A one-sentence CoNLL file with gold tags.
    func oneSentence(in folder: URL) throws -> URL {
        let file = folder.appendingPathComponent("one.conll")
        try "mr NNP O\nSmith NNP B-PER\nsaid VBD O\n. . O\n".write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    // MARK: predict --output

    @Test func predictThroughASymbolicLinkKeepsTheLinkAndUpdatesItsTarget() throws {
        let model = try bestModel()
        let folder = try scratch("symlink-output")
        let input = try oneSentence(in: folder)
        let target = folder.appendingPathComponent("target.conll")
        try "stale\n".write(to: target, atomically: true, encoding: .utf8)
        let link = folder.appendingPathComponent("link.conll")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "target.conll")
        let result = try runTool(["predict", "--model", model.path, "--input", input.path, "--output", link.path, "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(fileType(link.path) == S_IFLNK, "the link stays a link")
        let written = try String(contentsOf: target, encoding: .utf8)
        #expect(written.hasPrefix("mr NNP O "), "the target holds the tagged corpus: \(written)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["link.conll", "one.conll", "target.conll"])
    }

    @Test func predictIntoAFIFOStreamsIntoItWithoutReplacingIt() throws {
        let model = try bestModel()
        let folder = try scratch("fifo-output")
        let input = try oneSentence(in: folder)
        let fifo = folder.appendingPathComponent("pipe")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        final class Box: @unchecked Sendable { var data = Data() }
        let received = Box()
        let done = DispatchSemaphore(value: 0)
        let path = fifo.path
        DispatchQueue.global().async {
            if let reader = FileHandle(forReadingAtPath: path) { received.data = reader.readDataToEndOfFile() }
            done.signal()
        }
        let result = try runTool(["predict", "--model", model.path, "--input", input.path, "--output", fifo.path, "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(String(decoding: received.data, as: UTF8.self).split(separator: "\n").count == 4)
        #expect(fileType(fifo.path) == S_IFIFO, "still a FIFO, not a regular file")
    }

    @Test func predictToDashWritesStandardOutputAndSaysSentenceInTheSingular() throws {
        let model = try bestModel()
        let folder = try scratch("stdout-output")
        let input = try oneSentence(in: folder)
        let result = try runTool(["predict", "--model", model.path, "--input", input.path, "--output", "-", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 4 && lines[1].hasPrefix("Smith NNP B-PER "), "\(result.stdout)")
        #expect(result.stderr.contains("tagged 1 sentence (4 words) in "), "\(result.stderr)")
        #expect(result.stderr.contains("→ standard output"))
        #expect(result.stderr.contains("; 1 thread; matrix products in "), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("-").path))
    }

    @Test func predictToDevStdoutOnAPipeStreamsIntoThePipe() throws {
        let model = try bestModel()
        let folder = try scratch("dev-stdout")
        let input = try oneSentence(in: folder)
        let result = try Binary.run(["predict", "--model", model.path, "--input", input.path, "--output", "/dev/stdout", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 4 && result.stdout.hasPrefix("mr NNP O "), "\(result.stdout)")
        var info = stat()
        #expect(lstat("/dev/stdout", &info) == 0 && info.st_mode & S_IFMT == S_IFLNK, "/dev/stdout is untouched")
    }

    @Test func predictToDevStdoutAppendedByTheShellKeepsWhatTheFileHeld() throws {
        let model = try bestModel()
        let folder = try scratch("dev-stdout-append")
        let input = try oneSentence(in: folder)
        let log = folder.appendingPathComponent("log.txt")
        try "kept\n".write(to: log, atomically: true, encoding: .utf8)
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "\"$0\" predict --model \"$1\" --input \"$2\" --output /dev/stdout --threads 1 >> \"$3\" 2>/dev/null",
                           Binary.url.path, model.path, input.path, log.path]
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5 && lines[0] == "kept" && lines[2].hasPrefix("Smith NNP B-PER "), "\(lines)")
        var info = stat()
        #expect(lstat("/dev/stdout", &info) == 0 && info.st_mode & S_IFMT == S_IFLNK, "/dev/stdout is untouched")
    }

    @Test func predictRefusesAnOutputThatIsTheInputByAnyName() throws {
        let model = try bestModel()
        let folder = try scratch("same-file")
        let input = try oneSentence(in: folder)
        let original = try String(contentsOf: input, encoding: .utf8)
        let soft = folder.appendingPathComponent("soft.conll"), hard = folder.appendingPathComponent("hard.conll")
        try FileManager.default.createSymbolicLink(at: soft, withDestinationURL: input)
        try #require(link(input.path, hard.path) == 0)
        for output in [input.path, soft.path, hard.path] {
            let result = try runTool(["predict", "--model", model.path, "--input", input.path, "--output", output])
            #expect(result.status != 0)
            #expect(result.stderr.contains("\(output): is the same file as --input \(input.path); writing it would destroy the input. Give --output another path."),
                    "\(result.stderr)")
            #expect(!result.stderr.contains("compute:"), "refused before anything loads")
        }
        #expect(try String(contentsOf: input, encoding: .utf8) == original)
    }

    // MARK: Resume

    @Test func ctrlCPrintsTheCommandThatContinuesAndResumeDirAloneFinishesTheRun() throws {
        let files = try TinyCLIFixture.files.get()
        let folder = try scratch("resume-by-dir")
        // The default output: a timestamped folder under runs/ of the working directory.
        let arguments = ["train", "--model", files.model.path, "--train", files.train.path, "--dev", files.dev.path,
                         "--epochs", "8", "--lr", "5e-3", "--batch-tokens", "96", "--threads", "1", "--log-every", "1"]
        let running = try startTool(arguments, in: folder)
        let deadline = Date().addingTimeInterval(60)
        func steps() -> URL? {
            let runs = folder.appendingPathComponent("runs")
            guard let name = try? FileManager.default.contentsOfDirectory(atPath: runs.path).first else { return nil }
            return runs.appendingPathComponent(name).appendingPathComponent("metrics/steps.jsonl")
        }
        while running.process.isRunning, Date() < deadline, (steps().flatMap { try? Data(contentsOf: $0) }?.isEmpty ?? true) {
            usleep(5_000)
        }
        try #require(running.process.isRunning, "the run ended before a step was seen: \(running.finish().stderr)")
        running.process.interrupt()
        running.process.waitUntilExit()
        let stopped = running.finish()
        #expect(stopped.status == 130, "\(stopped.stderr)")
        let run = try #require(steps()).deletingLastPathComponent().deletingLastPathComponent().standardizedFileURL.path
        let line = try #require(stopped.stderr.split(separator: "\n").first { $0.hasPrefix("continue with: ") }, "\(stopped.stderr)")
        #expect(line == "continue with: \(Binary.url.path) train --resume \(run)", "the exact command, with the run's real path")

        // The printed command, run from another folder, needs nothing else.
        let words = line.dropFirst("continue with: ".count).split(separator: " ").map(String.init)
        let resumed = try runTool(Array(words.dropFirst()), in: files.root)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming at epoch"), "\(resumed.stderr)")
        #expect(resumed.stdout.hasPrefix("best dev f1: "))
    }

    @Test func aSecondCtrlCStopsAtOnceWithoutSaving() throws {
        let files = try TinyCLIFixture.files.get()
        let output = try scratch("second-ctrl-c").appendingPathComponent("run")
        // Long epochs and rare saves: the first save would come at the epoch's end.
        let running = try startTool(TinyCLIFixture.trainArguments(files, output: output, epochs: 8)
                                    + ["--log-every", "1", "--batch-tokens", "24"])
        let steps = output.appendingPathComponent("metrics/steps.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while running.process.isRunning, Date() < deadline, ((try? Data(contentsOf: steps))?.isEmpty ?? true) {
            usleep(5_000)
        }
        try #require(running.process.isRunning, "the run ended before a step was seen: \(running.finish().stderr)")
        // Two SIGINTs sent together merge into one pending signal; SIGTERM counts as a second stop request
        // too. Held stopped while both are sent, the process sees them together, before its next step ends.
        let pid = running.process.processIdentifier
        kill(pid, SIGSTOP)
        kill(pid, SIGINT)
        kill(pid, SIGTERM)
        kill(pid, SIGCONT)
        running.process.waitUntilExit()
        let stopped = running.finish()
        #expect(stopped.status == 130, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("stopping now, without saving"), "\(stopped.stderr)")
        #expect(!stopped.stderr.contains("stopped at step"), "the message is true: no save followed it")
        #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("last").path), "nothing was saved")
    }

    @Test func resumeRefusesAnOptionThatDisagreesWithTheRunAndAcceptsOnesThatMayChange() throws {
        let (output, first) = try TinyCLIFixture.trainedRun.get()
        try #require(first.status == 0, "\(first.stderr)")
        let disagreeing = try runTool(["train", "--resume", output.path, "--epochs", "3"])
        #expect(disagreeing.status != 0)
        #expect(disagreeing.stderr.contains("the run was started with --epochs 6 (epochs in options.json), but this command gives --epochs 3"), "\(disagreeing.stderr)")
        let otherOutput = try runTool(["train", "--resume", output.path, "--output", output.path + "-elsewhere"])
        #expect(otherOutput.status != 0)
        #expect(otherOutput.stderr.contains("name different run directories"), "\(otherOutput.stderr)")
        let missing = try runTool(["train", "--resume", output.path + "-missing"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("--resume \(output.path)-missing: no such run directory"), "\(missing.stderr)")
        // The run finished: resuming it with options that may change reports on it again.
        let agreeing = try runTool(["train", "--resume", output.path, "--epochs", "6", "--threads", "1", "--log-every", "3"])
        #expect(agreeing.status == 0, "\(agreeing.stderr)")
    }

    // MARK: Checks before work starts

    @Test(arguments: [
        (["--lr", "inf"], "--lr must be a finite number above 0"),
        (["--lr", "nan"], "--lr must be a finite number above 0"),
        (["--lr=-1"], "--lr must be a finite number above 0"),
        (["--lr", "-1"], "--lr must be a finite number above 0"),
        (["--epochs", "-2"], "--epochs must be positive, not -2"),
        (["--weight-decay", "-0.1"], "--weight-decay must be a finite number"),
        (["--max-grad-norm", "-1"], "--max-grad-norm must be a finite number"),
        (["--warmup", "-0.5"], "--warmup must be a fraction"),
        (["--stride", "-1"], "--stride must be 0 or more, not -1"),
        (["--warmup", "inf"], "--warmup must be a fraction"),
        (["--warmup", "2.5"], "--warmup 2.5 is neither a fraction below 1 nor a whole number"),
        (["--weight-decay", "nan"], "--weight-decay must be a finite number"),
        (["--max-grad-norm", "inf"], "--max-grad-norm must be a finite number"),
        (["--max-length", "65"], "--max-length 65 exceeds the model's max_position_embeddings (64, in "),
        (["--max-length", "20", "--stride", "18"], "the stride 18 must be at least 0 and less than 18"),
        (["--threads", "3000000000"], "--threads must be between 1 and 1024, not 3000000000"),
        (["--epochs", "100000000"], "--epochs must be at most 10000"),
        (["--batch-tokens", "9000000000"], "--batch-tokens must be at most 1048576"),
    ])
    func badTrainingOptionsFailBeforeTheModelLoadsAndLeaveNoRunDirectory(arguments: [String], message: String) throws {
        let files = try TinyCLIFixture.files.get()
        let folder = try scratch("bad-option")
        let result = try runTool(["train", "--model", files.model.path, "--train", files.train.path, "--dev", files.dev.path,
                                  "--batch-tokens", "96"] + arguments, in: folder)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("note: new classifier"), "no model was loaded")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs").path), "no empty run directory")
    }

    @Test func aFailedTrainLeavesNoTimestampedRunDirectory() throws {
        let files = try TinyCLIFixture.files.get()
        let folder = try scratch("failed-train")
        let bad = folder.appendingPathComponent("bad.conll")
        try "a O\nb\n".write(to: bad, atomically: true, encoding: .utf8)
        let result = try runTool(["train", "--model", files.model.path, "--train", bad.path, "--dev", files.dev.path], in: folder)
        #expect(result.status != 0)
        #expect(result.stderr.contains(bad.path), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs").path))
    }

    @Test func aDirectoryGivenAsAFileIsSaidToBeOneByEveryCommand() throws {
        let files = try TinyCLIFixture.files.get()
        let model = try bestModel()
        let folder = try scratch("directory-as-file")
        let runs: [([String], String)] = [
            (["train", "--model", files.model.path, "--train", folder.path, "--dev", files.dev.path], "\(folder.path): cannot read the training data (is a directory, not a file)"),
            (["train", "--model", files.model.path, "--train", files.train.path, "--dev", folder.path], "\(folder.path): cannot read the dev data (is a directory, not a file)"),
            (["train", "--model", files.model.path, "--train", files.train.path, "--dev", files.dev.path, "--test", folder.path],
             "\(folder.path): cannot read the test data (is a directory, not a file)"),
            (["predict", "--model", model.path, "--input", folder.path, "--output", folder.appendingPathComponent("x").path],
             "--input \(folder.path): is a directory, not a file"),
            (["predict", "--model", model.path, "--input", files.dev.path, "--output", folder.path], "\(folder.path): cannot write (is a directory; give a file name)"),
            (["predict", "--model", model.path, "--input", files.dev.path, "--output", folder.appendingPathComponent("missing/x.conll").path],
             "\(folder.path)/missing/x.conll: cannot write (No such file or directory)"),
            (["data", "stats", folder.path], "\(folder.path): cannot read the file (it is a directory; give the corpus file inside it)"),
            (["evaluate", folder.path], "\(folder.path): cannot read the file (it is a directory; give the corpus file inside it)"),
        ]
        for (arguments, message) in runs {
            let result = try runTool(arguments, in: folder)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("operation could not be completed"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs").path))
    }

    @Test(arguments: ["config.json", "model.safetensors", "vocab.txt"])
    func aModelFileThatIsADirectoryIsSaidToBeOne(file: String) throws {
        let files = try TinyCLIFixture.files.get()
        let folder = try scratch("model-file-as-directory")
        let model = folder.appendingPathComponent("model")
        try FileManager.default.copyItem(at: files.model, to: model)
        try FileManager.default.removeItem(at: model.appendingPathComponent(file))
        try FileManager.default.createDirectory(at: model.appendingPathComponent(file), withIntermediateDirectories: false)
        let result = try runTool(["train", "--model", model.path, "--train", files.train.path, "--dev", files.dev.path,
                                  "--batch-tokens", "96"], in: folder)
        #expect(result.status != 0)
        #expect(result.stderr.contains(model.appendingPathComponent(file).path) && result.stderr.contains("is a directory"),
                "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("operation could not be completed"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs").path))
    }

    @Test func predictAndDataStatsRefuseAMaxLengthBeyondTheModel() throws {
        let model = try bestModel()
        let files = try TinyCLIFixture.files.get()
        let predict = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", "-", "--max-length", "80"])
        #expect(predict.status != 0)
        #expect(predict.stderr.contains("--max-length 80 exceeds the model's max_position_embeddings (64, in \(model.path)/config.json); give at most 64"),
                "\(predict.stderr)")
        #expect(!predict.stderr.contains("compute:"), "refused before anything loads")
        let stats = try runTool(["data", "stats", files.dev.path, "--model", files.model.path, "--max-length", "65"])
        #expect(stats.status != 0)
        #expect(stats.stderr.contains("--max-length 65 exceeds the model's max_position_embeddings (64"), "\(stats.stderr)")
        let overBatch = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", "-",
                                     "--max-length", "60", "--batch-tokens", "40"])
        #expect(overBatch.stderr.contains("--max-length (60) exceeds --batch-tokens (40)"), "\(overBatch.stderr)")
        let manyThreads = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", "-", "--threads", "5000"])
        #expect(manyThreads.stderr.contains("--threads must be between 1 and 1024."), "\(manyThreads.stderr)")
        let wideStride = try runTool(["predict", "--model", model.path, "--input", files.dev.path, "--output", "-",
                                      "--max-length", "20", "--stride", "18"])
        #expect(wideStride.stderr.contains("the stride 18 must be at least 0 and less than 18"), "\(wideStride.stderr)")
        #expect(!wideStride.stderr.contains("compute:"), "refused before anything loads")
    }
}
