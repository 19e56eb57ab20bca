import Foundation

/// Shows a long job's progress on standard error: a bar redrawn in place on a terminal, plain lines
/// every `interval` seconds otherwise (logs, CI, pipes).
public final class ProgressReporter {
    public let label: String
    public let total: Int
    private let interactive: Bool
    private let interval: Double
    private let start: Date
    private var lastDraw: Date = .distantPast
    private var stream: (String) -> Void

    /// `interactive` defaults to whether standard error is a terminal.
    public init(label: String, total: Int, interactive: Bool? = nil, interval: Double = 10,
                stream: ((String) -> Void)? = nil) {
        self.label = label
        self.total = max(1, total)
        self.interactive = interactive ?? (isatty(STDERR_FILENO) != 0)
        self.interval = interval
        self.start = Date()
        self.stream = stream ?? { text in FileHandle.standardError.write(Data(text.utf8)) }
    }

    /// Reports `done` of `total` with extra fields (e.g. loss, lr, tokens/s); draws if due.
    public func update(_ done: Int, fields: [(String, String)] = [], force: Bool = false) {
        let now = Date()
        let due = interactive ? now.timeIntervalSince(lastDraw) >= 0.1 : now.timeIntervalSince(lastDraw) >= interval
        guard force || due || done >= total else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let fraction = min(1, Double(done) / Double(total))
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : .nan
        let extra = fields.map { "\($0.0) \($0.1)" }.joined(separator: "  ")
        let counts = "\(done)/\(total)"
        let times = "\(Self.clock(elapsed)) elapsed, ETA \(Self.clock(eta))"
        if interactive {
            let width = 24
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            stream("\r\u{1B}[2K\(label) \(bar) \(counts)  \(extra)  \(times)")
            if done >= total { stream("\n") }
        } else {
            stream("\(label) \(counts) (\(Int(fraction * 100))%)  \(extra)  \(times)\n")
        }
    }

    /// Ends an interactive bar's line early (e.g. before printing a message under it).
    public func finishLine() {
        if interactive { stream("\n") }
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%02d:%02d", s / 60, s % 60)
    }
}
