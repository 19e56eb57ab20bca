import Foundation

/// Turns the first Ctrl-C (SIGINT) or SIGTERM into a request the training loop honours at its next step
/// boundary, so it can save a resumable state; a second signal ends the process at once.
public final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var sources: [any DispatchSourceSignal] = []

    public init() {}

    public var isRequested: Bool {
        lock.lock(); defer { lock.unlock() }
        return requested
    }

    /// Starts listening; `onFirst` runs once, off the main thread, when the first signal arrives.
    public func install(onFirst: @escaping @Sendable () -> Void = {}) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let second = self.requested
                self.requested = true
                self.lock.unlock()
                if second {
                    FileHandle.standardError.write(Data("\nstopping now, without saving\n".utf8))
                    exit(130)
                }
                onFirst()
            }
            source.resume()
            sources.append(source)
        }
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
