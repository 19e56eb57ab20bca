import Foundation

/// Sums parts of Float buffers over the ranks on a thread of its own, one part after another in the order they
/// are handed in, so that the caller goes on computing while they travel (PyTorch DDP's gradient buckets).
///
/// Each part is an allreduce: every rank hands in parts of the same lengths in the same order. Between the
/// first `sum` and the `wait` that follows, the caller makes no operation of its own on the communicator, so
/// that one thread at a time calls MPI (MPI_THREAD_SERIALIZED is enough).
public final class BackgroundSums {
    /// One part's journey, in seconds on the process's monotonic clock.
    public struct Timing: Sendable {
        public var count: Int
        public var handedIn: Double
        public var started: Double
        public var finished: Double
    }

    private let worker: Worker

    /// Starts the summing thread; refused (with the reason) when the communicator cannot be called from it.
    public init(communicator: any Communicator) throws {
        guard communicator.callsFromAnyThread else {
            throw CommunicatorError("summing gradients on a thread of their own needs MPI_THREAD_SERIALIZED, which "
                                    + "this MPI library did not grant (\(communicator.summary)); sum after backward instead")
        }
        worker = Worker(communicator: communicator)
        let thread = Thread { [worker] in worker.serve() }
        thread.name = "gradient sums"
        thread.start()
    }

    deinit { worker.close() }

    /// Hands `part` to the summing thread; it is replaced by its sum over the ranks by the time `wait` returns.
    /// The caller leaves it alone until then.
    public func sum(_ part: UnsafeMutableBufferPointer<Float>) {
        worker.enqueue(part)
    }

    /// Waits until every part handed in is summed, and returns their timings in order. The first error of a
    /// part is thrown; the parts after it are not summed.
    public func wait() throws -> [Timing] {
        try worker.drain()
    }

    /// Seconds on the monotonic clock the timings use.
    public static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// The state the caller and the summing thread share, under one lock.
    private final class Worker: @unchecked Sendable {
        let communicator: any Communicator
        let condition = NSCondition()
        var pending: [(base: UnsafeMutablePointer<Float>?, count: Int, handedIn: Double)] = []
        var outstanding = 0
        var timings: [Timing] = []
        var failure: (any Error)?
        var closed = false

        init(communicator: any Communicator) { self.communicator = communicator }

        func enqueue(_ part: UnsafeMutableBufferPointer<Float>) {
            condition.lock()
            pending.append((part.baseAddress, part.count, BackgroundSums.now()))
            outstanding += 1
            condition.broadcast()
            condition.unlock()
        }

        func drain() throws -> [Timing] {
            condition.lock()
            defer { condition.unlock() }
            while outstanding > 0 { condition.wait() }
            let result = timings, error = failure
            timings = []
            failure = nil
            if let error { throw error }
            return result
        }

        func close() {
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }

        func serve() {
            while true {
                condition.lock()
                while pending.isEmpty && !closed { condition.wait() }
                if pending.isEmpty { condition.unlock(); return }
                let part = pending.removeFirst()
                let skip = failure != nil
                condition.unlock()
                let started = BackgroundSums.now()
                var error: (any Error)?
                if !skip {
                    do { try communicator.allReduceSum(UnsafeMutableBufferPointer(start: part.base, count: part.count)) }
                    catch let caught { error = caught }
                }
                let finished = BackgroundSums.now()
                condition.lock()
                timings.append(Timing(count: part.count, handedIn: part.handedIn, started: started, finished: finished))
                if let error, failure == nil { failure = error }
                outstanding -= 1
                condition.broadcast()
                condition.unlock()
            }
        }
    }
}
