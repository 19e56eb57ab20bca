import BERT
import Foundation
import Testing
@testable import Training
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small tmpfs of its own, mounted for one test and unmounted after it (mount(8) needs root).
struct SmallFileSystem {
    let folder: URL

    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", arguments.joined(separator: " ") + " 2>/dev/null"]
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    init?(megabytes: Int) {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("small-fs-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard Self.run(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", folder.path]) else {
            try? FileManager.default.removeItem(at: folder)
            return nil
        }
    }

    func unmount() {
        _ = Self.run(["umount", folder.path])
        try? FileManager.default.removeItem(at: folder)
    }

    /// Whether this process may mount a tmpfs (Linux, as root): probed once.
    static let available: Bool = {
        #if os(Linux)
        guard geteuid() == 0, let probe = SmallFileSystem(megabytes: 1) else { return false }
        probe.unmount()
        return true
        #else
        return false
        #endif
    }()

    /// Fills the file system until `spare` bytes are left.
    func fill(leaving spare: Int) throws {
        var info = statvfs()
        guard statvfs(folder.path, &info) == 0 else { throw POSIXError(.EIO) }
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        let filler = folder.appendingPathComponent("filler")
        FileManager.default.createFile(atPath: filler.path, contents: Data(count: max(0, free - spare)))
    }
}

@Suite(.serialized, .enabled(if: SmallFileSystem.available, "needs root to mount a small tmpfs (mount -t tmpfs)"))
struct FullDiskTests {
    @Test func aCheckpointWriteOnAFullDiskFailsClearlyAndThePreviousStateResumes() throws {
        let task = try TinyTaggingTask()
        defer { task.remove() }
        let disk = try #require(SmallFileSystem(megabytes: 4))
        defer { disk.unmount() }
        var options = task.options(output: task.runDirectory("reference"))
        options.saveEvery = 3
        let reference = URL(fileURLWithPath: options.output)
        try TinyTaggingTask.run(options)

        let run = disk.folder.appendingPathComponent("run")
        options.output = run.path
        // After step 5 the state of step 3 is on disk; room is left for the log rows, not for the save at step 6.
        var filled = false
        do {
            try TinyTaggingTask.run(options, onStep: { step in
                if step == 5 { filled = (try? disk.fill(leaving: 24 * 1024)) != nil }
            })
            Issue.record("the run finished on a full disk")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("No space left on device"), "\(message)")
            #expect(message.contains(run.path), "the error names the path: \(message)")
        }
        #expect(filled)

        // The previous state is whole, and nothing half-written is left beside it.
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: run.appendingPathComponent("last/trainer_state.json")))
        #expect(state.step == 3)
        _ = try Checkpoint(directory: run.appendingPathComponent("last"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") || $0.hasPrefix("last.") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        try FileManager.default.removeItem(at: disk.folder.appendingPathComponent("filler"))
        let resumed = try TinyTaggingTask.run(options, resume: true)
        #expect(resumed.messages.contains { $0.hasPrefix("resuming at epoch 1, step 3") }, "\(resumed.messages)")
        for file in ["last/model.safetensors", "best/model.safetensors"] {
            #expect(try differingTensors(reference.appendingPathComponent(file), run.appendingPathComponent(file)).isEmpty, "\(file)")
        }
    }
}
