import Foundation
import Testing

/// `predict --format html`, looked at in a real browser: headless Chromium (installed by Scripts/setup.sh).
@Suite struct PredictHTMLTests {
    /// Chromium's path; a failure, not a skip, when it is missing, since setup installs it.
    func chromium() throws -> String {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
                            "Chromium is missing: run Scripts/setup.sh (apt-get install -y chromium)")
    }

    /// Runs headless Chromium on `page` with `arguments`, with its own profile folder, and returns its standard output.
    func runChromium(_ arguments: [String], page: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try chromium())
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)"]
            + arguments + [page.absoluteString]
        let out = profile.appendingPathExtension("out"), err = profile.appendingPathExtension("err")
        for file in [out, err] { try Data().write(to: file) }
        defer { for file in [out, err] { try? FileManager.default.removeItem(at: file) } }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    @Test func thePageHighlightsEntitiesByTypeAndShowsMarkupInTheInputWithoutRunningIt() throws {
        let (run, trained) = try TinyCLIFixture.trainedRun.get()
        try #require(trained.status == 0, "training the model to predict with failed: \(trained.stderr)")
        let model = run.appendingPathComponent("best")
        let folder = try TinyCLIFixture.files.get().root.appendingPathComponent("html-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let page = folder.appendingPathComponent("entities.html")
        let text = """
            <script>document.body.setAttribute("data-ran", "script")</script> mr Smith said .
            <img src=x onerror="document.body.setAttribute('data-ran', 'onerror')"> Jones went to Paris & "Rome" .
            the news from Acme corp was good .

            """
        let result = try Binary.run(["predict", "--model", model.path, "--format", "html", "--output", page.path, "--threads", "1"],
                                    stdin: text)
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(!html.contains("<script") && !html.contains("<img"), "input markup is escaped")
        #expect(!html.contains("http://") && !html.contains("https://"), "nothing fetched")

        let dom = try runChromium(["--virtual-time-budget=2000", "--dump-dom"], page: page)
        #expect(dom.status == 0, "\(dom.stderr)")
        #expect(dom.stdout.contains("<mark data-type=\"PER\""), "\(dom.stdout)")
        #expect(dom.stdout.contains("<mark data-type=\"LOC\""), "\(dom.stdout)")
        #expect(dom.stdout.contains("<mark data-type=\"ORG\""), "\(dom.stdout)")
        #expect(dom.stdout.contains("Smith<span class=\"type\">PER</span></mark>"), "\(dom.stdout)")
        // The input's markup is text on the page (the model may mark some of its words: take the marks out).
        let shown = dom.stdout.replacingOccurrences(of: "<span class=\"type\">[A-Z]+</span></mark>", with: "", options: .regularExpression)
            .replacingOccurrences(of: "<mark [^>]*>", with: "", options: .regularExpression)
        #expect(shown.contains("&lt;script&gt;document.body.setAttribute(\"data-ran\", \"script\")&lt;/script&gt;"), "\(shown)")
        #expect(shown.contains("&lt;img src=x onerror=\"document.body.setAttribute('data-ran', 'onerror')\"&gt;"), "\(shown)")
        #expect(!dom.stdout.contains("data-ran=\""), "no script ran: \(dom.stdout)")
        #expect(!dom.stdout.contains("<script"), "no script element: \(dom.stdout)")
        // The legend names every type once, in its colour.
        #expect(dom.stdout.contains("<div class=\"legend\"><span data-type=\"LOC\" style=\"background: #ff9561\">LOC · "), "\(dom.stdout)")

        let screenshot = folder.appendingPathComponent("entities.png")
        let shot = try runChromium(["--screenshot=\(screenshot.path)", "--window-size=1000,600", "--hide-scrollbars"], page: page)
        #expect(shot.status == 0, "\(shot.stderr)")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 5_000, "a rendered PNG, \(png.count) bytes")
    }

    @Test func corpusInputRendersEachSentenceAsAParagraph() throws {
        let (run, trained) = try TinyCLIFixture.trainedRun.get()
        try #require(trained.status == 0, "training the model to predict with failed: \(trained.stderr)")
        let files = try TinyCLIFixture.files.get()
        let result = try Binary.run(["predict", "--model", run.appendingPathComponent("best").path, "--input", files.dev.path,
                                     "--format", "html", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("<!DOCTYPE html>"))
        #expect(result.stdout.components(separatedBy: "<p class=\"text\">").count - 1 == 12, "one paragraph per sentence")
        #expect(result.stdout.contains("<title>Entities in \(files.dev.path)</title>"))
    }
}
