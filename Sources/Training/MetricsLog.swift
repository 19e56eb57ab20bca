import FileIO
import Foundation

/// One row of metrics: named values in a fixed column order.
public struct MetricsRecord: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int), number(Double), text(String)
    }
    public var fields: [(name: String, value: Value)]

    public init(_ fields: [(String, Value)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    public static func == (a: MetricsRecord, b: MetricsRecord) -> Bool {
        a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    public subscript(name: String) -> Value? { fields.first { $0.name == name }?.value }

    var jsonLine: String {
        let body = fields.map { "\"\($0.name)\":\(Self.json($0.value))" }.joined(separator: ",")
        return "{\(body)}"
    }

    var csvLine: String { fields.map { Self.csv($0.value) }.joined(separator: ",") }

    private static func json(_ value: Value) -> String {
        switch value {
        case .int(let i): return String(i)
        case .number(let d): return d.isFinite ? String(d) : "null"
        case .text(let s):
            return (try? String(decoding: textEncoder.encode(s), as: UTF8.self)) ?? "null"
        }
    }

    private static let textEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    private static func csv(_ value: Value) -> String {
        switch value {
        case .int(let i): return String(i)
        case .number(let d): return d.isFinite ? String(d) : ""
        case .text(let s):
            if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) {
                return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return s
        }
    }
}

/// Appends metrics rows to a JSONL file and a CSV file side by side, flushing each row so a killed run
/// keeps everything it logged. Opening an existing pair (a resumed run) appends after what is there.
public final class MetricsLog {
    public let jsonlURL: URL
    public let csvURL: URL
    private var jsonl: FileHandle
    private var csv: FileHandle
    private var columns: [String]?

    public init(directory: URL, name: String) throws {
        jsonlURL = directory.appendingPathComponent("\(name).jsonl")
        csvURL = directory.appendingPathComponent("\(name).csv")
        let fm = FileManager.default
        for url in [jsonlURL, csvURL] where !fm.fileExists(atPath: url.path) {
            do { try OutputFile.write(Data(), to: url) } catch {
                throw TrainingError.cannotWrite(path: url.path, reason: fileErrorReason(error, path: url.path))
            }
        }
        jsonl = try Self.openForAppending(jsonlURL)
        csv = try Self.openForAppending(csvURL)
        try jsonl.seekToEnd()
        let csvEnd = try csv.seekToEnd()
        if csvEnd > 0, let header = try String(contentsOf: csvURL, encoding: .utf8).split(separator: "\n").first {
            columns = header.split(separator: ",").map(String.init)
        }
    }

    private static func openForAppending(_ url: URL) throws -> FileHandle {
        do {
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            return handle
        } catch {
            throw TrainingError.cannotWrite(path: url.path, reason: fileErrorReason(error, path: url.path))
        }
    }

    deinit {
        try? jsonl.close()
        try? csv.close()
    }

    /// Removes the rows logged after optimizer step `step` (column "step"): a resumed run continues from its
    /// last saved state and logs those steps again.
    public func dropRows(afterStep step: Int) throws {
        func keep(_ text: String, isCSV: Bool) -> String {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            let header = isCSV && !lines.isEmpty ? lines.removeFirst() : nil
            lines = lines.filter { line in
                let value: Int?
                if isCSV {
                    value = line.split(separator: ",", maxSplits: 1).first.flatMap { Int($0) }
                } else {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    value = (object?["step"] as? NSNumber)?.intValue
                }
                return (value ?? Int.max) <= step
            }
            return ((header.map { [$0] } ?? []) + lines).map { $0 + "\n" }.joined()
        }
        // Each file is replaced whole (as every output is), so a stop halfway through keeps every row; the
        // handles are opened again on the new files.
        for (url, isCSV) in [(jsonlURL, false), (csvURL, true)] {
            let text = try String(contentsOf: url, encoding: .utf8)
            do {
                try OutputFile.write(Data(keep(text, isCSV: isCSV).utf8), to: url)
            } catch {
                throw TrainingError.cannotWrite(path: url.path, reason: fileErrorReason(error, path: url.path))
            }
        }
        try? jsonl.close()
        try? csv.close()
        jsonl = try Self.openForAppending(jsonlURL)
        csv = try Self.openForAppending(csvURL)
    }

    /// Writes one row. Every row of one log has the same columns: the first row fixes them.
    public func append(_ record: MetricsRecord) throws {
        let names = record.fields.map(\.name)
        if let columns {
            precondition(columns == names, "metrics columns changed from \(columns) to \(names)")
        } else {
            columns = names
            try csv.write(contentsOf: Data((names.joined(separator: ",") + "\n").utf8))
        }
        try jsonl.write(contentsOf: Data((record.jsonLine + "\n").utf8))
        try csv.write(contentsOf: Data((record.csvLine + "\n").utf8))
    }
}
