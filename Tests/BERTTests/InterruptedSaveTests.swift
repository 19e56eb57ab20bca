import Foundation
import Testing
@testable import BERT

/// A save killed at any point leaves a loadable model behind (the previous one or the new one, whole).
@Suite struct InterruptedSaveTests {
    static func save(_ slab: [Float], _ checkpoint: Checkpoint, to output: URL, extraFiles: [String: Data] = [:]) throws {
        try slab.withUnsafeBufferPointer {
            try Checkpoint.save(parameters: $0, layout: checkpoint.layout, config: checkpoint.config,
                                labels: ["O", "B-A", "I-A", "B-B", "I-B"], to: output, tokenizerSource: nil, extraFiles: extraFiles)
        }
    }

    @Test func twoDirectoriesAreExchangedInOneStep() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = root.appendingPathComponent("a"), b = root.appendingPathComponent("b")
        for (folder, name) in [(a, "in-a"), (b, "in-b")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data().write(to: folder.appendingPathComponent(name))
        }
        #if os(Linux) || os(macOS)
        #expect(Checkpoint.exchangeDirectories(a.path, b.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: a.path) == ["in-b"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: b.path) == ["in-a"])
        #endif
    }

    @Test func extraFilesAreSavedInTheSameDirectoryAndStep() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let checkpoint = try Checkpoint(directory: BERTFixture.url("tiny-gelu"))
        let output = root.appendingPathComponent("best")
        try Self.save(try loadSlab(checkpoint), checkpoint, to: output, extraFiles: ["tagging.json": Data("{}\n".utf8)])
        #expect(try Data(contentsOf: output.appendingPathComponent("tagging.json")) == Data("{}\n".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["best"])
    }

    @Test func aKillBetweenMovingTheOldModelAsideAndTheNewOneInIsMended() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let checkpoint = try Checkpoint(directory: BERTFixture.url("tiny-gelu"))
        let slab = try loadSlab(checkpoint)
        let output = root.appendingPathComponent("best")
        try Self.save(slab, checkpoint, to: output)
        // What the two-step replacement leaves when killed between its renames: the old model set aside, the
        // new one not yet in place, and an unfinished staging folder of a later save.
        try FileManager.default.moveItem(at: output, to: root.appendingPathComponent(".best.old-\(UUID().uuidString)"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent(".best.partial-\(UUID().uuidString)"),
                                                withIntermediateDirectories: false)
        Checkpoint.finishInterruptedSave(of: output)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["best"])
        #expect(try loadSlab(try Checkpoint(directory: output)).map(\.bitPattern) == slab.map(\.bitPattern))
    }

    @Test func leftoversBesideAWholeModelAreRemovedByTheNextSave() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let checkpoint = try Checkpoint(directory: BERTFixture.url("tiny-gelu"))
        var slab = try loadSlab(checkpoint)
        let output = root.appendingPathComponent("best")
        try Self.save(slab, checkpoint, to: output)
        for name in [".best.old-\(UUID().uuidString)", ".best.partial-\(UUID().uuidString)"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: false)
        }
        slab[0] = 42
        try Self.save(slab, checkpoint, to: output)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["best"])
        #expect(try loadSlab(try Checkpoint(directory: output))[0] == 42)
    }
}
