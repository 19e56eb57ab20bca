import Foundation

/// Turns the first Ctrl-C (SIGINT) or SIGTERM into a request the training loop honours at its next step
/// boundary, so it can save a resumable state; a second signal ends the process at once, without saving
/// anything more (every save is atomic, so the state saved last stays whole and resumable).
public final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var sources: [any DispatchSourceSignal] = []
    private let onSecond: (@Sendable () -> Void)?
    /// Set once nothing is left to save: every signal then stops at once, printing this.
    private var atOnceMessage: String?

    /// What a second signal prints before the process ends.
    public static let secondSignalMessage = "\nstopping now, without saving (--resume continues from the state saved last, or from the first step when none was saved)\n"

    /// `onSecond` runs on a second signal (and on any signal after `stopAtOnce(saying:)`); by default it
    /// prints `secondSignalMessage` (or the message given there) and ends the process with status 130 at
    /// once (`_exit`: no exit handlers, nothing flushed or saved on the way out).
    public init(onSecond: (@Sendable () -> Void)? = nil) {
        self.onSecond = onSecond
    }

    @Sendable public static func stopNow() { stopNow(saying: secondSignalMessage) }

    static func stopNow(saying text: String) {
        let message = Array(text.utf8)
        _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        _exit(130)
    }

    /// From now on the first signal too stops at once, saying `message`: for work after the last save
    /// that `--resume` redoes, where promising a save at the next step would not be true.
    public func stopAtOnce(saying message: String) {
        lock.lock(); atOnceMessage = message; lock.unlock()
    }

    public var isRequested: Bool {
        lock.lock(); defer { lock.unlock() }
        return requested
    }

    /// Starts listening; `onFirst` runs once, off the main thread, when the first signal arrives.
    public func install(onFirst: @escaping @Sendable () -> Void = {}) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self, source] in
                // Signals that arrive together are delivered as one event with their count.
                self?.received(source.data, onFirst: onFirst)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// `count` signals have arrived: the first asks for a stop, any later one stops at once.
    func received(_ count: UInt, onFirst: () -> Void) {
        lock.lock()
        let atOnce = atOnceMessage
        let second = requested || count > 1 || atOnce != nil
        requested = true
        lock.unlock()
        guard second else { return onFirst() }
        if let onSecond { onSecond() } else { Self.stopNow(saying: atOnce ?? Self.secondSignalMessage) }
    }

    /// Stops listening and restores the default handlers.
    public func uninstall() {
        for source in sources { source.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// For tests and for callers that stop a run themselves.
    public func request() {
        lock.lock(); requested = true; lock.unlock()
    }
}
