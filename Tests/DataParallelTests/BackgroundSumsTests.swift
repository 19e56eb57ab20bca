import DataParallel
import Foundation
import Testing

/// A group whose sums add each rank's stand-in values and record the parts in the order they came; one part
/// may fail.
private final class RecordingGroup: Communicator, @unchecked Sendable {
    let lock = NSLock()
    var parts: [Int] = []
    var threads: Set<Bool> = []
    let failingPart: Int?
    let callsFromAnyThread: Bool
    init(failingPart: Int? = nil, callsFromAnyThread: Bool = true) {
        self.failingPart = failingPart
        self.callsFromAnyThread = callsFromAnyThread
    }
    var rank: Int { 0 }
    var size: Int { 2 }
    var summary: String { "a recording group" }
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        lock.lock()
        defer { lock.unlock() }
        parts.append(values.count)
        threads.insert(Thread.isMainThread)
        if parts.count - 1 == failingPart { throw CommunicatorError("part \(parts.count - 1) failed") }
        // The other rank holds 1 in every element.
        for i in values.indices { values[i] += 1 }
    }
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Int64>) throws {}
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {}
    func barrier() throws {}
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? { [bytes] }
    func finalize() {}
    func abortAll(code: Int32) {}
}

@Suite struct BackgroundSumsTests {
    @Test func partsAreSummedOffTheCallingThreadInTheOrderHandedIn() throws {
        let group = RecordingGroup()
        let sums = try BackgroundSums(communicator: group)
        var values = [Float](repeating: 2, count: 10)
        let timings = try values.withUnsafeMutableBufferPointer { buffer -> [BackgroundSums.Timing] in
            for range in [7 ..< 10, 2 ..< 7, 0 ..< 2] { sums.sum(UnsafeMutableBufferPointer(rebasing: buffer[range])) }
            return try sums.wait()
        }
        #expect(values == [Float](repeating: 3, count: 10))
        #expect(group.parts == [3, 5, 2])
        #expect(group.threads == [false], "summed on a thread of its own")
        #expect(timings.map(\.count) == [3, 5, 2])
        for (timing, next) in zip(timings, timings.dropFirst()) {
            #expect(timing.handedIn <= timing.started && timing.started <= timing.finished && timing.finished <= next.started)
        }
        // The thread serves the next step's parts too.
        let again = try values.withUnsafeMutableBufferPointer { buffer in
            sums.sum(buffer)
            return try sums.wait().count
        }
        #expect(again == 1)
        #expect(values == [Float](repeating: 4, count: 10))
    }

    @Test func aFailedPartIsThrownByWaitAndThePartsAfterItAreNotSummed() throws {
        let group = RecordingGroup(failingPart: 1)
        let sums = try BackgroundSums(communicator: group)
        var values = [Float](repeating: 0, count: 6)
        #expect(throws: CommunicatorError("part 1 failed")) {
            try values.withUnsafeMutableBufferPointer { buffer in
                for range in [0 ..< 2, 2 ..< 4, 4 ..< 6] { sums.sum(UnsafeMutableBufferPointer(rebasing: buffer[range])) }
                _ = try sums.wait()
            }
        }
        #expect(group.parts == [2, 2])
        #expect(values == [1, 1, 0, 0, 0, 0])
    }

    @Test func aLibraryThatGrantsNoThreadsIsRefusedNamingTheAlternative() {
        #expect {
            _ = try BackgroundSums(communicator: RecordingGroup(callsFromAnyThread: false))
        } throws: { error in
            "\(error)".contains("MPI_THREAD_SERIALIZED") && "\(error)".contains("after backward")
        }
    }
}
