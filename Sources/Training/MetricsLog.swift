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
/// keeps everything it logged. Opening an existing pair (a resumed run) appends after what is there; a
/// last row cut short by a kill (no line end) is removed first, so the next row starts on a line of its own.
public final class MetricsLog {
    /// The columns of `metrics/steps.csv` and `metrics/evaluations.csv`, in order.
    public static let stepColumns = ["step", "epoch", "loss", "learning_rate", "grad_norm", "tokens_per_second", "elapsed_seconds"]
    public static let evaluationColumns = ["step", "epoch", "dev_loss", "precision", "recall", "f1", "accuracy", "best", "seconds"]

    public let jsonlURL: URL
    public let csvURL: URL
    private var jsonl: FileHandle
    private var csv: FileHandle
    private var columns: [String]?
    /// Whether the CSV already has its header line.
    private var hasHeader = false

    /// - Parameter columns: the columns every row will have, when known: an existing CSV with another header
    ///   is refused here, before any work is done, rather than at the first row.
    public init(directory: URL, name: String, columns: [String]? = nil) throws {
        jsonlURL = directory.appendingPathComponent("\(name).jsonl")
        csvURL = directory.appendingPathComponent("\(name).csv")
        let fm = FileManager.default
        for url in [jsonlURL, csvURL] {
            do {
                if fm.fileExists(atPath: url.path) {
                    try Self.removePartialLastLine(url)
                } else {
                    try OutputFile.write(Data(), to: url)
                }
            } catch let error as TrainingError {
                throw error
            } catch {
                throw TrainingError.cannotWrite(path: url.path, reason: fileErrorReason(error, path: url.path))
            }
        }
        self.columns = columns
        jsonl = try Self.openForAppending(jsonlURL)
        csv = try Self.openForAppending(csvURL)
        try readHeader(expecting: columns)
    }

    /// Takes the CSV's header as the columns; refuses one that differs from `expected`.
    private func readHeader(expecting expected: [String]?) throws {
        let text: String
        do { text = try String(contentsOf: csvURL, encoding: .utf8) } catch {
            throw TrainingError.unreadableData(path: csvURL.path, what: "metrics log", reason: fileErrorReason(error, path: csvURL.path))
        }
        guard let header = text.split(separator: "\n", omittingEmptySubsequences: false).first, !header.isEmpty else {
            hasHeader = false
            return
        }
        let found = header.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if let expected, found != expected {
            throw TrainingError.metricsColumnsDiffer(path: csvURL.path, found: found, expected: expected)
        }
        columns = found
        hasHeader = true
    }

    /// Cuts a file back to its last line end: what follows it is a row whose writing was interrupted.
    private static func removePartialLastLine(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        guard let last = data.last, last != UInt8(ascii: "\n") else { return }
        let end = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? data.startIndex
        try OutputFile.write(data[data.startIndex..<end], to: url)
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
        try readHeader(expecting: nil)
    }

    /// Writes one row. Every row of one log has the same columns: the header (or the first row) fixes them.
    public func append(_ record: MetricsRecord) throws {
        let names = record.fields.map(\.name)
        if let columns, columns != names {
            throw TrainingError.metricsColumnsDiffer(path: csvURL.path, found: columns, expected: names)
        }
        columns = names
        if !hasHeader {
            try csv.write(contentsOf: Data((names.joined(separator: ",") + "\n").utf8))
            hasHeader = true
        }
        try jsonl.write(contentsOf: Data((record.jsonLine + "\n").utf8))
        try csv.write(contentsOf: Data((record.csvLine + "\n").utf8))
    }
}
