import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way every output of the tool reaches the disk, so that writing never damages what a path
/// points at:
///
/// - a regular file, or a path where nothing is yet, is written to a temporary file in the same folder,
///   synced (fsync), renamed over the path, and the folder synced: readers see the old file or the whole
///   new one, never a part, even after a kill or a power cut, and an existing file keeps its permissions;
/// - a symbolic link is followed (every link in a chain) and its final target is replaced that way, so
///   the link stays a link and points at the new content;
/// - a device, FIFO or socket (a terminal, a named pipe) is written directly, as a stream: replacing it
///   with a regular file would break it;
/// - `-` and `/dev/stdout` are standard output, `/dev/stderr`, `/dev/fd/N` and `/proc/self/fd/N` the
///   descriptors they name, written where they stand (a shell's `>> log` keeps appending, whatever the
///   descriptor is open on);
/// - a directory is an error.
public enum OutputFile {
    /// Where bytes for a path go.
    public enum Destination: Equatable, Sendable {
        /// A regular file or a new path (the final target of any symbolic links): written beside it and renamed.
        case replace(path: String)
        /// A device, FIFO or socket: opened and written in place.
        case stream(path: String)
        /// A descriptor this process holds (`-` and `/dev/stdout` are 1): written as it is open.
        case descriptor(Int32)
    }

    /// Writes `data` to `path` as the type comment describes.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { sink in try sink.write(data) }
    }

    public static func write(_ data: Data, to url: URL) throws {
        try write(data, to: url.path)
    }

    /// Writes what `body` gives the sink, in pieces (a file larger than memory can be streamed); the
    /// replacement happens only when `body` returns without throwing.
    public static func write(to path: String, _ body: (OutputSink) throws -> Void) throws {
        switch try destination(of: path) {
        case .stream(let target):
            let descriptor = open(target, O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw OutputFileError(path: path, reason: lastError()) }
            defer { close(descriptor) }
            try body(OutputSink(descriptor: descriptor, path: path))
        case .descriptor(let descriptor):
            try body(OutputSink(descriptor: descriptor, path: path))
        case .replace(let target):
            try replace(target, reportedAs: path, body)
        }
    }

    /// How `path` would be written, after following symbolic links.
    public static func destination(of path: String) throws -> Destination {
        if let descriptor = heldDescriptor(path) { return .descriptor(descriptor) }
        // What the path finally is, links followed by the system: the only way to see through links whose
        // text is not a path, such as /dev/stdout → /proc/self/fd/1 → "pipe:[1234]".
        var followed = stat()
        if stat(path, &followed) == 0 {
            switch followed.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw OutputFileError(path: path, reason: "is a directory; give a file name")
            default: return .stream(path: path)
            }
        }
        var current = path
        var hops = 0
        while true {
            var info = stat()
            guard lstat(current, &info) == 0 else {
                if errno == ENOENT { return .replace(path: current) }
                throw OutputFileError(path: path, reason: lastError())
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                hops += 1
                guard hops <= 40 else { throw OutputFileError(path: path, reason: "too many levels of symbolic links") }
                current = try linkTarget(current, reportedAs: path)
            case S_IFREG:
                return .replace(path: current)
            case S_IFDIR:
                throw OutputFileError(path: path, reason: "is a directory; give a file name")
            default:
                return .stream(path: current)
            }
        }
    }

    /// The open descriptor `path` names (`-`, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`).
    /// Opening such a path again would start a new file description, at offset 0 and without O_APPEND.
    static func heldDescriptor(_ path: String) -> Int32? {
        let descriptor: Int32?
        switch path {
        case "-", "/dev/stdout": descriptor = STDOUT_FILENO
        case "/dev/stderr": descriptor = STDERR_FILENO
        default:
            let prefix = ["/dev/fd/", "/proc/self/fd/"].first { path.hasPrefix($0) }
            descriptor = prefix.flatMap { Int32(path.dropFirst($0.count)) }
        }
        guard let descriptor, fcntl(descriptor, F_GETFD) != -1 else { return nil }
        return descriptor
    }

    /// The absolute path a symbolic link points at (a relative target counts from the link's folder).
    private static func linkTarget(_ link: String, reportedAs path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(link, &buffer, buffer.count - 1)
        guard length >= 0 else { throw OutputFileError(path: path, reason: lastError()) }
        let target = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("/") { return target }
        return (URL(fileURLWithPath: link).deletingLastPathComponent().path as NSString).appendingPathComponent(target)
    }

    private static func replace(_ target: String, reportedAs path: String, _ body: (OutputSink) throws -> Void) throws {
        let url = URL(fileURLWithPath: target)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        var existing = stat()
        let mode: mode_t = stat(target, &existing) == 0 ? existing.st_mode & 0o7777 : 0o666
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw OutputFileError(path: path, reason: lastError()) }
        do {
            defer { close(descriptor) }
            // open(2) applies the umask; an existing file's own permissions are kept exactly.
            if stat(target, &existing) == 0 { fchmod(descriptor, mode) }
            try body(OutputSink(descriptor: descriptor, path: path))
            guard fsync(descriptor) == 0 else { throw OutputFileError(path: path, reason: lastError()) }
        } catch {
            unlink(temporary)
            throw error
        }
        // rename(2) replaces the destination in one step on both Linux and macOS.
        guard rename(temporary, target) == 0 else {
            let reason = lastError()
            unlink(temporary)
            throw OutputFileError(path: path, reason: reason)
        }
        // The rename is a change to the folder: until the folder itself is synced, a power cut can bring back
        // the old name (or no file at all) even though the new content is on disk.
        try syncDirectory(url.deletingLastPathComponent().path, reportedAs: path)
    }

    /// Flushes a folder's entries (names created, renamed or removed in it) to the disk, as fsync(2) does for
    /// a file's content: the last step of an atomic replacement. File systems that cannot sync a folder
    /// (EINVAL, ENOTSUP) keep their entries by other means and are not an error.
    public static func syncDirectory(_ directory: String, reportedAs path: String? = nil) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw OutputFileError(path: path ?? directory, reason: lastError()) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 || errno == EINVAL || errno == ENOTSUP else {
            throw OutputFileError(path: path ?? directory, reason: lastError())
        }
    }

    /// Removes the temporary files that writes killed part-way left in `directory` (named `.NAME.UUID.tmp`, as
    /// `write` names them; nothing else is touched). For a program taking up work it was killed in.
    public static func removeInterruptedWrites(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where isTemporaryName(name) {
            unlink((directory as NSString).appendingPathComponent(name))
        }
    }

    /// Whether `name` is one `replace` gives its temporary file: `.NAME.UUID.tmp`.
    static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return false }
        let core = name.dropFirst().dropLast(4)
        guard let dot = core.lastIndex(of: "."), dot > core.startIndex else { return false }
        return UUID(uuidString: String(core[core.index(after: dot)...])) != nil
    }

    /// Fails now, with the reason, when `path` could not be written later: its folder is missing or
    /// read-only, or it is a directory. For commands that work long before they write.
    public static func checkWritable(_ path: String) throws {
        switch try destination(of: path) {
        case .descriptor:
            return
        case .stream(let target):
            guard access(target, W_OK) == 0 else { throw OutputFileError(path: path, reason: lastError()) }
        case .replace(let target):
            let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
            guard access(folder, W_OK) == 0 else { throw OutputFileError(path: path, reason: lastError()) }
        }
    }

    /// The final target of `url` when it is a symbolic link (links in the last component followed), else `url`.
    public static func resolvingLastLink(_ url: URL) throws -> URL {
        var current = url.path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return URL(fileURLWithPath: current) }
            current = try linkTarget(current, reportedAs: url.path)
        }
        throw OutputFileError(path: url.path, reason: "too many levels of symbolic links")
    }

    /// Refuses to write `output` when it is the file `input` names, through any symbolic link or hard
    /// link (the same device and inode): the output would replace the input before it was read.
    public static func refuseOverwriting(input: String, inputOption: String, output: String, outputOption: String) throws {
        guard heldDescriptor(output) == nil, heldDescriptor(input) == nil else { return }
        var a = stat(), b = stat()
        guard stat(input, &a) == 0, stat(output, &b) == 0 else { return }
        if a.st_dev == b.st_dev && a.st_ino == b.st_ino {
            throw OutputFileError(path: output, reason: "is the same file as \(inputOption) \(input); writing it would destroy the input. "
                                  + "Give \(outputOption) another path", sentence: true)
        }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}

/// Bytes on their way to an output, written in order.
public struct OutputSink {
    let descriptor: Int32
    let path: String

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = posixWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw OutputFileError(path: path, reason: OutputFile.lastError())
                }
                offset += written
            }
        }
    }

    public func write(_ text: String) throws { try write(Data(text.utf8)) }
}

private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, bytes, count)
    #else
    return Darwin.write(descriptor, bytes, count)
    #endif
}

/// An output that could not be written, with the path as given and the system's reason.
public struct OutputFileError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let path: String
    public let reason: String
    /// The reason is a whole sentence (it says what to do) rather than the system's few words.
    let sentence: Bool

    public init(path: String, reason: String, sentence: Bool = false) {
        self.path = path
        self.reason = reason
        self.sentence = sentence
    }

    public var description: String {
        sentence ? "\(path): \(reason)." : "\(path): cannot write (\(reason))."
    }

    public var errorDescription: String? { description }
}
