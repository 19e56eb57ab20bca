import Foundation
import Testing
@testable import Training

/// A resumed run's metrics logs: another version's header is refused with the fix, a row cut short by a kill
/// does not merge with the next one.
@Suite struct ResumedMetricsLogTests {
    static func folder(steps csv: String, jsonl: String = "") throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-log-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(csv.utf8).write(to: folder.appendingPathComponent("steps.csv"))
        try Data(jsonl.utf8).write(to: folder.appendingPathComponent("steps.jsonl"))
        return folder
    }

    @Test func aHeaderThatDiffersFromTheRunsColumnsIsRefusedWhenTheLogOpens() throws {
        let folder = try ResumedMetricsLogTests.folder(steps: "step,loss,speed\n1,2.0,3\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = folder.appendingPathComponent("steps.csv").path
        do {
            _ = try MetricsLog(directory: folder, name: "steps", columns: MetricsLog.stepColumns)
            Issue.record("a steps.csv with another header was accepted")
        } catch let error as TrainingError {
            guard case let .metricsColumnsDiffer(path, found, expected) = error else { throw error }
            #expect(path == csv && found == ["step", "loss", "speed"] && expected == MetricsLog.stepColumns)
            #expect(error.description.contains("\(csv): the header is \"step,loss,speed\""))
            #expect(error.description.contains("Move the file aside"))
        }
    }

    @Test func aRowWithOtherColumnsThanTheHeaderIsAnErrorNotACrash() throws {
        let folder = try ResumedMetricsLogTests.folder(steps: "step,loss,speed\n1,2.0,3\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try MetricsLog(directory: folder, name: "steps")
        #expect(throws: TrainingError.self) {
            try log.append(MetricsRecord([("step", .int(2)), ("loss", .number(1))]))
        }
        #expect(try String(contentsOf: folder.appendingPathComponent("steps.csv"), encoding: .utf8) == "step,loss,speed\n1,2.0,3\n")
    }

    @Test func aMatchingHeaderIsKeptAndRowsFollowIt() throws {
        let folder = try ResumedMetricsLogTests.folder(steps: "step,loss\n1,2.0\n", jsonl: #"{"step":1,"loss":2.0}"# + "\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try MetricsLog(directory: folder, name: "steps", columns: ["step", "loss"])
        try log.append(MetricsRecord([("step", .int(2)), ("loss", .number(1))]))
        #expect(try String(contentsOf: folder.appendingPathComponent("steps.csv"), encoding: .utf8) == "step,loss\n1,2.0\n2,1.0\n")
    }

    @Test func aRowCutShortByAKillIsDroppedSoTheNextStartsOnItsOwnLine() throws {
        let folder = try ResumedMetricsLogTests.folder(steps: "step,loss\n1,2.0\n2,1.", jsonl: #"{"step":1,"loss":2.0}"# + "\n" + #"{"step":2,"lo"#)
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try MetricsLog(directory: folder, name: "steps", columns: ["step", "loss"])
        try log.dropRows(afterStep: 1)
        try log.append(MetricsRecord([("step", .int(2)), ("loss", .number(1))]))
        #expect(try String(contentsOf: folder.appendingPathComponent("steps.csv"), encoding: .utf8) == "step,loss\n1,2.0\n2,1.0\n")
        #expect(try String(contentsOf: folder.appendingPathComponent("steps.jsonl"), encoding: .utf8)
                == #"{"step":1,"loss":2.0}"# + "\n" + #"{"step":2,"loss":1.0}"# + "\n")
    }

    @Test func aHeaderCutShortByAKillIsWrittenAgain() throws {
        let folder = try ResumedMetricsLogTests.folder(steps: "step,lo")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try MetricsLog(directory: folder, name: "steps", columns: ["step", "loss"])
        try log.append(MetricsRecord([("step", .int(1)), ("loss", .number(1))]))
        #expect(try String(contentsOf: folder.appendingPathComponent("steps.csv"), encoding: .utf8) == "step,loss\n1,1.0\n")
    }
}
