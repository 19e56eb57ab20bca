import Foundation
import Testing

/// Where a program is on PATH, if anywhere.
func executableOnPath(_ name: String) -> String? {
    for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// Whether strace is installed and allowed to trace here (containers may forbid ptrace).
let straceWorks: Bool = {
    guard let strace = executableOnPath("strace") else { return false }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: strace)
    process.arguments = ["-f", "-o", "/dev/null", "/bin/true"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct ReliabilityTests {
    /// The short form of the README's kill -9 check: a few trials of killing `train` with SIGKILL (at random
    /// moments and inside checkpoint writes) and resuming, each ending bit-identical to an uninterrupted run.
    @Test(.enabled(if: executableOnPath("python3") != nil, "needs python3 to run Scripts/kill_resume.py"))
    func trainingKilledAnywhereResumesToTheSameWeights() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executableOnPath("python3")!)
        process.arguments = [packageRoot.appendingPathComponent("Scripts/kill_resume.py").path, "--binary", Binary.url.path,
                             "--trials", "3", "--sentences", "40", "--epochs", "2", "--save-every", "2", "--synthetic", "--seed", "7"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("3 of 3 resumed runs bit-identical to the uninterrupted run, 3 of 3 run folders without leftovers of killed writes; all identical"), "\(text)")
    }

    /// An output file reaches the disk as temporary file, fsync, rename, fsync of its folder: seen in the
    /// system calls of `predict --output`.
    @Test(.enabled(if: straceWorks, "needs strace, allowed to trace, to watch the system calls"))
    func anOutputIsSyncedRenamedAndItsFolderSynced() throws {
        let (run, trained) = try TinyCLIFixture.trainedRun.get()
        try #require(trained.status == 0, "\(trained.stderr)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("tags.jsonl"), trace = folder.appendingPathComponent("trace")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executableOnPath("strace")!)
        process.arguments = ["-f", "-o", trace.path, "-e", "trace=openat,fsync,rename,renameat,renameat2",
                             Binary.url.path, "predict", "--model", run.appendingPathComponent("best").path,
                             "--output", output.path, "--threads", "1"]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data("Smith went to Paris .\n".utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let lines = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n").map(String.init)

        func descriptor(openedBy line: String) -> String? {
            line.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let temporaryOpen = try #require(lines.firstIndex { $0.contains("openat(") && $0.contains("/.tags.jsonl.") && $0.contains("O_CREAT") },
                                         "\(lines.suffix(20))")
        let fileDescriptor = try #require(descriptor(openedBy: lines[temporaryOpen]))
        let fileSync = try #require(lines[temporaryOpen...].firstIndex { $0.contains("fsync(\(fileDescriptor))") }, "\(lines)")
        let rename = try #require(lines[fileSync...].firstIndex { $0.contains("rename") && $0.contains(output.path + "\"") }, "\(lines)")
        let folderOpen = try #require(lines[rename...].firstIndex { $0.contains("openat(") && $0.contains("\"\(folder.path)\"") && $0.contains("O_DIRECTORY") },
                                      "\(lines)")
        let folderDescriptor = try #require(descriptor(openedBy: lines[folderOpen]))
        #expect(lines[folderOpen...].contains { $0.contains("fsync(\(folderDescriptor))") && $0.hasSuffix("= 0") }, "\(lines)")
    }
}
