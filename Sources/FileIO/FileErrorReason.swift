import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read or written, in the system's plain words ("is a directory", "No such file
/// or directory", "Permission denied"), never Foundation's "The operation could not be completed.
/// (NSCocoaErrorDomain error 256.)": the path is looked at again when the error itself does not say.
public func fileErrorReason(_ error: any Error, path: String? = nil) -> String {
    if let error = error as? OutputFileError { return error.reason }
    let nsError = error as NSError
    let file = path ?? (nsError.userInfo[NSFilePathErrorKey] as? String)
        ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path
    if let file, let reason = problemWithPath(file) { return reason }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
    if nsError.domain == NSCocoaErrorDomain {
        switch nsError.code {
        case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return "No such file or directory"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "Permission denied"
        case NSFileReadInapplicableStringEncodingError: return "not valid UTF-8 text"
        case NSFileWriteOutOfSpaceError: return "No space left on device"
        case NSFileWriteVolumeReadOnlyError: return "Read-only file system"
        default: return "the file cannot be read or written"
        }
    }
    return String(describing: error)
}

/// What stands in the way of reading `path`, looked up in the file system: nil when it looks readable.
public func problemWithPath(_ path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else { return String(cString: strerror(errno)) }
    if info.st_mode & S_IFMT == S_IFDIR { return "is a directory, not a file" }
    if access(path, R_OK) != 0 { return String(cString: strerror(errno)) }
    return nil
}
