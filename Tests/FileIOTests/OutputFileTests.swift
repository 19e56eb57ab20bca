import FileIO
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct OutputFileTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("output-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func fileType(_ url: URL) -> mode_t {
        var info = stat()
        return lstat(url.path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    func contents(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    /// Names in the folder, hidden temporaries included.
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    @Test func aNewPathIsWrittenAndNoTemporaryFileIsLeft() throws {
        let file = folder.appendingPathComponent("new.txt")
        try OutputFile.write(Data("hello\n".utf8), to: file)
        #expect(try contents(file) == "hello\n")
        #expect(try listing() == ["new.txt"])
    }

    @Test func aRegularFileIsReplacedByRenameKeepingItsPermissions() throws {
        let file = folder.appendingPathComponent("old.txt")
        try Data("old\n".utf8).write(to: file)
        chmod(file.path, 0o640)
        var before = stat()
        stat(file.path, &before)
        try OutputFile.write(Data("new\n".utf8), to: file)
        var after = stat()
        stat(file.path, &after)
        #expect(try contents(file) == "new\n")
        #expect(after.st_ino != before.st_ino, "a new file renamed into place, not the old one rewritten")
        #expect(after.st_mode & 0o7777 == 0o640)
        #expect(try listing() == ["old.txt"])
    }

    @Test func aSymbolicLinkIsKeptAndItsTargetGetsTheNewContent() throws {
        let target = folder.appendingPathComponent("target.txt")
        try Data("old\n".utf8).write(to: target)
        let link = folder.appendingPathComponent("link.txt")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "target.txt")  // relative
        try OutputFile.write(Data("new\n".utf8), to: link)
        #expect(fileType(link) == S_IFLNK, "the link is still a link")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "target.txt")
        #expect(try contents(target) == "new\n")
        #expect(try listing() == ["link.txt", "target.txt"])
    }

    @Test func aChainOfLinksAndADanglingLinkWriteTheFinalTarget() throws {
        let sub = folder.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let final = sub.appendingPathComponent("final.txt")  // does not exist yet
        let second = sub.appendingPathComponent("second")
        try FileManager.default.createSymbolicLink(atPath: second.path, withDestinationPath: "final.txt")
        let first = folder.appendingPathComponent("first")
        try FileManager.default.createSymbolicLink(atPath: first.path, withDestinationPath: second.path)
        #expect(try OutputFile.destination(of: first.path) == .replace(path: final.path))
        try OutputFile.write(Data("x".utf8), to: first)
        #expect(try contents(final) == "x")
        #expect(fileType(first) == S_IFLNK && fileType(second) == S_IFLNK && fileType(final) == S_IFREG)
    }

    @Test func aFIFOIsWrittenAsAStreamAndStaysAFIFO() throws {
        let fifo = folder.appendingPathComponent("pipe")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        #expect(try OutputFile.destination(of: fifo.path) == .stream(path: fifo.path))
        final class Box: @unchecked Sendable { var data = Data() }
        let received = Box()
        let done = DispatchSemaphore(value: 0)
        let path = fifo.path
        DispatchQueue.global().async {
            if let reader = FileHandle(forReadingAtPath: path) { received.data = reader.readDataToEndOfFile() }
            done.signal()
        }
        try OutputFile.write(Data("streamed\n".utf8), to: fifo)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(String(decoding: received.data, as: UTF8.self) == "streamed\n")
        #expect(fileType(fifo) == S_IFIFO, "the FIFO is not replaced by a regular file")
        #expect(try listing() == ["pipe"])
    }

    @Test func aDeviceIsWrittenInPlace() throws {
        #expect(try OutputFile.destination(of: "/dev/null") == .stream(path: "/dev/null"))
        try OutputFile.write(Data("discarded".utf8), to: "/dev/null")
        #expect(fileType(URL(fileURLWithPath: "/dev/null")) == S_IFCHR)
    }

    @Test func aDescriptorPathIsWrittenThroughTheDescriptorItself() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let path = "/dev/fd/\(ends[1])"  // a link to /proc/self/fd/N, whose text ("pipe:[…]") is not a path
        #expect(try OutputFile.destination(of: path) == .descriptor(ends[1]))
        try OutputFile.write(Data("through the pipe".utf8), to: path)
        close(ends[1])
        let received = FileHandle(fileDescriptor: ends[0]).readDataToEndOfFile()
        #expect(String(decoding: received, as: UTF8.self) == "through the pipe")
    }

    @Test func dashAndDevStdoutAreStandardOutput() throws {
        #expect(try OutputFile.destination(of: "-") == .descriptor(STDOUT_FILENO))
        #expect(try OutputFile.destination(of: "/dev/stdout") == .descriptor(STDOUT_FILENO))
        #expect(try OutputFile.destination(of: "/dev/stderr") == .descriptor(STDERR_FILENO))
    }

    @Test func aFileOpenedForAppendingKeepsWhatItHeldWhenWrittenThroughItsDescriptor() throws {
        let log = folder.appendingPathComponent("log.txt")
        try Data("kept\n".utf8).write(to: log)
        let descriptor = open(log.path, O_WRONLY | O_APPEND)  // as a shell's `>> log.txt` opens it
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try OutputFile.write(Data("appended\n".utf8), to: "/proc/self/fd/\(descriptor)")
        #expect(try contents(log) == "kept\nappended\n")
    }

    @Test func aDirectoryIsRefusedWithItsPath() throws {
        let error = try #require(throws: OutputFileError.self) { try OutputFile.write(Data(), to: folder) }
        #expect(error.description == "\(folder.path): cannot write (is a directory; give a file name).")
    }

    @Test func aMissingFolderIsAnErrorNamingThePath() throws {
        let file = folder.appendingPathComponent("missing/out.txt")
        let error = try #require(throws: OutputFileError.self) { try OutputFile.write(Data(), to: file) }
        #expect(error.path == file.path && error.reason == "No such file or directory")
    }

    @Test func writabilityIsCheckedBeforeAnyWork() throws {
        try OutputFile.checkWritable(folder.appendingPathComponent("new.txt").path)
        try OutputFile.checkWritable("-")
        try OutputFile.checkWritable("/dev/null")
        let missing = folder.appendingPathComponent("missing/out.txt").path
        let error = try #require(throws: OutputFileError.self) { try OutputFile.checkWritable(missing) }
        #expect(error.description == "\(missing): cannot write (No such file or directory).")
        #expect(throws: OutputFileError.self) { try OutputFile.checkWritable(folder.path) }
    }

    @Test func aFailingWriterLeavesTheOldFileAndNoTemporary() throws {
        struct Stop: Error {}
        let file = folder.appendingPathComponent("kept.txt")
        try Data("kept\n".utf8).write(to: file)
        #expect(throws: Stop.self) {
            try OutputFile.write(to: file.path) { sink in
                try sink.write("partial")
                throw Stop()
            }
        }
        #expect(try contents(file) == "kept\n")
        #expect(try listing() == ["kept.txt"])
    }

    @Test func theSameFileIsRefusedThroughALinkOrAHardLink() throws {
        let input = folder.appendingPathComponent("corpus.txt")
        try Data("a\n".utf8).write(to: input)
        let soft = folder.appendingPathComponent("soft.txt"), hard = folder.appendingPathComponent("hard.txt")
        try FileManager.default.createSymbolicLink(at: soft, withDestinationURL: input)
        try #require(link(input.path, hard.path) == 0)
        for output in [input.path, soft.path, hard.path, folder.path + "/./corpus.txt"] {
            let error = try #require(throws: OutputFileError.self) {
                try OutputFile.refuseOverwriting(input: input.path, inputOption: "--input", output: output, outputOption: "--output")
            }
            #expect(error.description.contains("is the same file as --input \(input.path)"), "\(error)")
            #expect(error.description.hasPrefix(output + ": ") && error.description.contains("Give --output another path"))
        }
        // Another file, a new path and standard output are fine.
        let other = folder.appendingPathComponent("other.txt")
        try Data("a\n".utf8).write(to: other)
        for output in [other.path, folder.appendingPathComponent("new.txt").path, "-"] {
            try OutputFile.refuseOverwriting(input: input.path, inputOption: "--input", output: output, outputOption: "--output")
        }
    }

    @Test func aDirectoryReadReportsIsADirectoryNotFoundationText() throws {
        let error = try #require(throws: (any Error).self) { _ = try Data(contentsOf: folder) }
        let reason = fileErrorReason(error, path: folder.path)
        #expect(reason == "is a directory, not a file")
        #expect(!reason.contains("NSCocoaErrorDomain"))
        let missing = folder.appendingPathComponent("nothing")
        let missingError = try #require(throws: (any Error).self) { _ = try Data(contentsOf: missing) }
        #expect(fileErrorReason(missingError) == "No such file or directory")
    }
}

@Suite struct InterruptedWriteTests {
    @Test func temporaryFilesOfKilledWritesAreRemovedAndNothingElse() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("interrupted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let kept = ["steps.csv", ".hidden", ".notes.tmp", ".steps.csv.not-a-uuid.tmp", "a.\(UUID().uuidString).tmp"]
        for name in kept + [".steps.csv.\(UUID().uuidString).tmp", ".options.json.\(UUID().uuidString).tmp"] {
            try Data("x".utf8).write(to: folder.appendingPathComponent(name))
        }
        OutputFile.removeInterruptedWrites(in: folder.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == kept.sorted())
    }

    @Test func syncingAMissingFolderNamesIt() {
        #expect(throws: OutputFileError.self) { try OutputFile.syncDirectory("/nonexistent-folder-\(UUID().uuidString)") }
        #expect(throws: Never.self) { try OutputFile.syncDirectory(FileManager.default.temporaryDirectory.path) }
    }
}
