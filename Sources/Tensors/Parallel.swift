import CKernels
import Foundation

enum ProcessInfoCores {
    static let active = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Splits elementwise work over the cores with `DispatchQueue.concurrentPerform`.
///
/// Chunks are contiguous and their bounds depend only on the item count and the thread count, and no
/// kernel reduces across chunks, so results are the same whatever the thread count (only BLAS may differ).
public enum Parallel {
    nonisolated(unsafe) private static var configuredThreadCount = ProcessInfoCores.active

    /// Threads for the elementwise kernels and the products (defaults to the active core count); 1 on a lane's
    /// thread (`forEachLane`), where every kernel runs serially.
    public static var threadCount: Int { bt_parallel_lane() >= 0 ? 1 : configuredThreadCount }

    /// The lane the calling thread runs (`forEachLane`), 0 outside one: kernels that keep a scratch area per
    /// worker give a lane's serial run the area of that index, so lanes running at once never share one.
    public static var lane: Int { Swift.max(0, Int(bt_parallel_lane())) }

    /// Whether the calling thread runs a lane.
    public static var inLane: Bool { bt_parallel_lane() >= 0 }

    /// Runs `body(lane)` for `lanes` lanes at once, each on a thread of its own with every kernel inside it
    /// serial (`threadCount` 1 there): independent work, such as disjoint sequences of a batch through a
    /// whole encoder, then meets no other thread until it is done. Lanes do not nest.
    public static func forEachLane(_ lanes: Int, _ body: (Int) -> Void) {
        precondition(!inLane, "lanes do not nest")
        if lanes <= 1 { body(0); return }
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            bt_parallel_set_lane(Int32(lane))
            defer { bt_parallel_set_lane(-1) }
            body(lane)
        }
    }

    /// Sets the threads for both the elementwise kernels and BLAS. Call it between steps, not during one.
    public static func setThreadCount(_ count: Int) {
        configuredThreadCount = max(1, count)
        BLAS.setThreadCount(configuredThreadCount)
    }

    /// Runs `body` over `0 ..< count` in at most `threadCount` contiguous chunks of at least `grain` items;
    /// serially, on the calling thread, when the work is too small to be worth waking other threads.
    @inline(__always)
    public static func forEachChunk(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let workers = Swift.min(threadCount, count / Swift.max(grain, 1))
        if workers <= 1 {
            if count > 0 { body(0 ..< count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            body(count * w / workers ..< count * (w + 1) / workers)
        }
    }

    /// Runs `body(worker)` for each of `workers` workers at once, for kernels that hand out their own
    /// items and need a per-worker scratch area.
    @inline(__always)
    public static func forEachWorker(_ workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 { body(0); return }
        DispatchQueue.concurrentPerform(iterations: workers, execute: body)
    }
}
