import Foundation
import Testing
@testable import TaggerServer

/// The page in a real browser: headless Chromium (Debian's `chromium`, installed by Scripts/setup.sh) loads `/`,
/// submits a text, and the DOM it ends with holds the highlighted entities.
@Suite("The page in headless Chromium")
struct PageBrowserTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs Chromium on a thread of its own (never a cooperative one: the server under test needs those) and
    /// returns what it printed.
    static func runChromium(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let path = try #require(chromium, "Chromium is not installed; Scripts/setup.sh installs Debian's chromium")
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: path)
                    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                         "--no-first-run", "--user-data-dir=" + NSTemporaryDirectory() + "chromium-\(UUID().uuidString)"]
                        + arguments
                    let output = Pipe(), errors = Pipe()
                    process.standardOutput = output
                    process.standardError = errors
                    try process.run()
                    // Standard error drains on a thread of its own, so neither pipe fills while the other is read.
                    final class Collected: @unchecked Sendable { var data = Data() }
                    let collected = Collected(), drained = DispatchSemaphore(value: 0)
                    Thread {
                        collected.data = errors.fileHandleForReading.readDataToEndOfFile()
                        drained.signal()
                    }.start()
                    let outData = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    drained.wait()
                    continuation.resume(returning: (process.terminationStatus, String(decoding: outData, as: UTF8.self),
                                                    String(decoding: collected.data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    static func pageURL(_ server: TestServer, text: String) -> String {
        var components = URLComponents(string: server.base + "/")!
        components.queryItems = [URLQueryItem(name: "text", value: text)]
        return components.url!.absoluteString
    }

    /// The `<mark class="entity" data-type="T">text<span ...>T</span></mark>` elements of the result box, as
    /// (type, text) pairs.
    static func marks(in dom: String) throws -> [(type: String, text: String)] {
        let result = try #require(dom.firstRange(of: #"<div id="result""#), "no result box in the DOM")
        let end = dom[result.upperBound...].firstRange(of: "</div>")?.lowerBound ?? dom.endIndex
        let box = dom[result.lowerBound..<end]
        return box.matches(of: #/<mark class="entity" data-type="([^"]*)"[^>]*>(.*?)<span class="entity-type">/#).map {
            (String($0.1), String($0.2))
        }
    }

    /// The text the result box shows: its DOM text without the entity-type labels, unescaped.
    static func shownText(in dom: String) throws -> String {
        let result = try #require(dom.firstRange(of: #"<div id="result""#), "no result box in the DOM")
        let end = dom[result.upperBound...].firstRange(of: "</div>")?.lowerBound ?? dom.endIndex
        var box = String(dom[result.lowerBound..<end])
        box = box.replacing(#/<span class="entity-type">[^<]*<\/span>/#, with: "")
        box = box.replacing(#/<[^>]*>/#, with: "")
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&nbsp;", "\u{A0}"), ("&amp;", "&")] {
            box = box.replacingOccurrences(of: entity, with: character)
        }
        return box
    }

    @Test func submittingATextShowsItsEntitiesMarkedInTheDOM() async throws {
        let text = "my name is don quixote and i live in la mancha. she went to paris."
        let expected = try TestModel.tagger.tag(text: text).entities
        try #require(!expected.isEmpty, "the tiny model marks entities in this text")
        try await TestServer.with { server, _ in
            let run = try await Self.runChromium(["--virtual-time-budget=15000", "--dump-dom", Self.pageURL(server, text: text)])
            #expect(run.status == 0, "\(run.stderr)")
            let marks = try Self.marks(in: run.stdout)
            #expect(marks.map(\.type) == expected.map(\.type), "\(run.stdout)")
            #expect(marks.map(\.text) == expected.map(\.text))
            #expect(try Self.shownText(in: run.stdout) == text)
            #expect(run.stdout.contains(#"data-tagged="\#(expected.count)""#))
            // The legend shows the model's entity types.
            #expect(run.stdout.contains(#"<mark class="entity" data-type="LOC""#) && run.stdout.contains(#"data-type="PER""#))
        }
    }

    @Test func markupInTheTextShowsAsTextAndNeverRuns() async throws {
        let text = #"paris <script>document.title = "ran"</script> <img src=x onerror="document.title='ran'"> <b>tokyo</b>"#
        try await TestServer.with { server, _ in
            let run = try await Self.runChromium(["--virtual-time-budget=15000", "--dump-dom", Self.pageURL(server, text: text)])
            #expect(run.status == 0, "\(run.stderr)")
            let dom = run.stdout
            #expect(dom.contains("<title>bert-tagger</title>"), "no injected script ran")
            #expect(try Self.shownText(in: dom) == text, "the markup shows as typed: \(dom)")
            #expect(!dom.contains("<b>tokyo</b>") && !dom.contains("<img src=\"x\""))
            #expect(dom.contains("data-tagged="), "the text was tagged")
        }
    }
}
