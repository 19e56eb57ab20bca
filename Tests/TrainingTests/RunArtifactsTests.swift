import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Training

@Suite struct MetricsLogTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func writesMatchingJSONLAndCSVAndAppendsOnReopen() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let log = try MetricsLog(directory: dir, name: "steps")
            try log.append(MetricsRecord([("step", .int(1)), ("loss", .number(0.5)), ("note", .text("a,\"b\""))]))
        }
        do {
            let log = try MetricsLog(directory: dir, name: "steps")
            try log.append(MetricsRecord([("step", .int(2)), ("loss", .number(.nan)), ("note", .text("c"))]))
        }
        let jsonl = try String(contentsOf: dir.appendingPathComponent("steps.jsonl"), encoding: .utf8)
        let lines = jsonl.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["note"] as? String == "a,\"b\"")
        #expect(lines[1].contains("\"loss\":null"))
        let csv = try String(contentsOf: dir.appendingPathComponent("steps.csv"), encoding: .utf8)
        #expect(csv == "step,loss,note\n1,0.5,\"a,\"\"b\"\"\"\n2,,c\n")
    }
}

@Suite struct TrainingPlotTests {
    @Test func isWellFormedSVGWithBothSeries() throws {
        let plot = TrainingPlot(title: "run <1>",
                                loss: (0..<50).map { (step: $0 * 10, value: 2.0 / Double($0 + 1)) },
                                devF1: [(step: 250, value: 0.81), (step: 490, value: 0.88)])
        let svg = plot.svg()
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "the SVG must parse as XML")
        #expect(svg.contains("<polyline"))
        #expect(svg.contains("best dev F1 0.8800 at step 490"))
        #expect(svg.contains("run &lt;1&gt;"))
    }
}

@Suite struct ProgressReporterTests {
    @Test func plainModePrintsCountsFieldsAndETA() {
        var lines: [String] = []
        let progress = ProgressReporter(label: "epoch 1", total: 4, interactive: false, interval: 0) { lines.append($0) }
        progress.update(2, fields: [("loss", "0.50")])
        #expect(lines.last?.hasPrefix("epoch 1 2/4 (50%)  loss 0.50") == true)
        #expect(lines.last?.contains("ETA") == true)
    }

    @Test func clockFormatsHoursMinutesSeconds() {
        #expect(ProgressReporter.clock(65) == "01:05")
        #expect(ProgressReporter.clock(3725) == "1:02:05")
        #expect(ProgressReporter.clock(.nan) == "--:--")
    }
}
