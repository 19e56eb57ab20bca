import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite struct ServeCommandTests {
    /// Collects a pipe's bytes as they come.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ more: Data) { lock.lock(); data.append(more); lock.unlock() }
        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
    }

    @Test func serveAnswersOverHTTPAndSIGTERMStopsItWithStatusZero() async throws {
        let (output, result) = try TinyCLIFixture.trainedRun.get()
        try #require(result.status == 0, "training the model to serve failed: \(result.stderr)")
        let process = Process()
        process.executableURL = Binary.url
        process.arguments = ["serve", "--model", output.appendingPathComponent("best").path, "--port", "0", "--threads", "1"]
        let errors = Pipe()
        let stderr = Collected()
        errors.fileHandleForReading.readabilityHandler = { handle in stderr.append(handle.availableData) }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        var port: Int?
        for _ in 0..<600 where port == nil {
            if let match = stderr.text.firstMatch(of: #/on http://127\.0\.0\.1:(\d+)//#) { port = Int(match.1) }
            else if !process.isRunning { break }
            else { try await Task.sleep(for: .milliseconds(50)) }
        }
        let bound = try #require(port, "no \"serving ... on http://127.0.0.1:PORT/\" line: \(stderr.text)")

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(bound)/v1/entities")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"text": "smith went to paris"}"#.utf8)
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        #expect(json?["entities"] is [Any], "\(String(decoding: body, as: UTF8.self))")

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(stderr.text)")
        #expect(stderr.text.contains("POST /v1/entities 200"), "an access-log line: \(stderr.text)")
        #expect(stderr.text.contains("compute: CPU ") && stderr.text.contains("matrix products in "),
                "what runs the products: \(stderr.text)")
        #expect(stderr.text.contains("stopped"), "\(stderr.text)")
    }

    @Test func serveRefusesALimitOfZeroNamingTheOption() throws {
        let result = try Binary.run(["serve", "--model", "/nonexistent", "--max-texts", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--max-texts 0: must be at least 1"), "\(result.stderr)")
    }

    @Test func serveNamesAMissingModelDirectory() throws {
        let result = try Binary.run(["serve", "--model", "/nonexistent/model", "--port", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/model: model directory not found"), "\(result.stderr)")
    }
}
