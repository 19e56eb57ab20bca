import Foundation

/// Stops the run as a crash libFuzzer reports (and saves the input of) when a property of a parser's
/// result does not hold.
public func require(_ condition: Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("property violated: \(message())", file: file, line: line) }
}

/// A parser may refuse its input only with its own typed error, one whose message names the input it was
/// given; anything else (a Foundation error leaking out, a message without the file) is a finding.
public func requireCleanError<Expected: Error>(_ error: any Error, _: Expected.Type, naming path: String,
                                               file: StaticString = #fileID, line: UInt = #line) {
    guard error is Expected else {
        fatalError("threw \(type(of: error)) instead of \(Expected.self): \(error)", file: file, line: line)
    }
    let message = String(describing: error)
    require(message.contains(path), "the error does not name \(path): \(message)", file: file, line: line)
}
