import Foundation

/// The processes of one run and the collective operations between them: every rank calls each operation in
/// the same order with buffers of the same length (gather's payloads aside), and each returns once all have
/// taken part. A run alone is a group of one, where every operation returns its input.
public protocol Communicator: AnyObject {
    /// This process's index, 0 ..< size; rank 0 writes the run's outputs.
    var rank: Int { get }
    var size: Int { get }
    /// A name for messages: "Open MPI, rank 1 of 2" or "one process".
    var summary: String { get }
    /// Whether operations may be called from a thread other than the one that joined, one call at a time
    /// (MPI_THREAD_SERIALIZED or more granted).
    var callsFromAnyThread: Bool { get }

    /// Replaces `values` on every rank with their elementwise sum over the ranks.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Int64>) throws
    /// Copies `bytes` from `root` into the same-sized buffer of every other rank.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Returns once every rank has called it.
    func barrier() throws
    /// Every rank's `bytes` (any length, empty included), in rank order, at `root`; nil elsewhere.
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]?
    /// Ends MPI's part of the process; no operation may follow. Alone it does nothing.
    func finalize()
    /// Ends every rank of the run with `code`, so that a failure on one rank cannot leave the others waiting
    /// in a collective that never completes. Alone it returns and the caller exits as usual.
    func abortAll(code: Int32)
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    public func allReduceSum(_ values: [Double]) throws -> [Double] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        return result
    }

    public func allReduceSum(_ values: [Int64]) throws -> [Int64] {
        var result = values
        try result.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        return result
    }

    /// `bytes` of the root, of any length, on every rank (its length travels first).
    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        var count = Int64(bytes.count)
        try withUnsafeMutableBytes(of: &count) { try broadcast($0, root: root) }
        var result = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        if count > 0 { try result.withUnsafeMutableBytes { try broadcast($0, root: root) } }
        return result
    }

    /// A Double of the root on every rank.
    public func broadcast(_ value: Double, root: Int) throws -> Double {
        var value = value
        try withUnsafeMutableBytes(of: &value) { try broadcast($0, root: root) }
        return value
    }
}

/// What a collective operation met: a message naming the operation and MPI's own words.
public struct CommunicatorError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One process alone: rank 0 of 1.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var summary: String { "one process" }
    public var callsFromAnyThread: Bool { true }
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Int64>) throws {}
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func barrier() throws {}
    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? { [bytes] }
    public func finalize() {}
    public func abortAll(code: Int32) {}
}
