import Foundation
@testable import SafeTensors

enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// A safetensors file from a header text and data bytes, with the header length written as given.
func safetensorsBytes(header: String, data: [UInt8], headerLength: UInt64? = nil) -> Data {
    let headerBytes = Array(header.utf8)
    var bytes = Data()
    withUnsafeBytes(of: (headerLength ?? UInt64(headerBytes.count)).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: headerBytes)
    bytes.append(contentsOf: data)
    return bytes
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The error a closure throws, as a SafeTensorsError (nil when it throws nothing).
func safeTensorsError(_ body: () throws -> Void) -> SafeTensorsError? {
    do { try body() } catch let error as SafeTensorsError { return error } catch { return nil }
    return nil
}
