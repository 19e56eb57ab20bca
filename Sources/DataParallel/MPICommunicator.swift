import CMPI
import Foundation

/// MPI_COMM_WORLD of Open MPI, whose libmpi.so.40 is loaded when a run starts under `mpirun`.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private var finalized = false

    /// Loads libmpi and joins the job `mpirun` started.
    public init() throws {
        var rank: Int32 = 0, size: Int32 = 1
        try Self.call("loading Open MPI (libmpi.so.40)",
                      fix: "install Open MPI (Debian: apt-get install openmpi-bin) on every host of the run") { bt_mpi_load($0, $1) }
        try Self.call("joining the MPI job", fix: nil) { bt_mpi_init(&rank, &size, $0, $1) }
        self.rank = Int(rank)
        self.size = Int(size)
    }

    public var summary: String { "Open MPI, rank \(rank) of \(size)" }
    public var callsFromAnyThread: Bool { bt_mpi_serialized_threads() != 0 }

    /// Runs a bt_mpi call, turning a non-zero status into an error with its message.
    private static func call(_ what: String, fix: String?, _ body: (UnsafeMutablePointer<CChar>, Int32) -> Int32) throws {
        var message = [CChar](repeating: 0, count: 1024)
        let status = message.withUnsafeMutableBufferPointer { body($0.baseAddress!, Int32($0.count)) }
        guard status != 0 else { return }
        let text = String(cString: message)
        throw CommunicatorError("\(what): \(text.isEmpty ? "MPI error \(status)" : text)" + (fix.map { "; \($0)" } ?? ""))
    }

    /// MPI counts are 32-bit: larger buffers go in pieces (a bert-large gradient slab is 335 M floats).
    private func inPieces(_ count: Int, elementSize: Int, _ body: (Int, Int32) throws -> Void) throws {
        let piece = Int(Int32.max) / max(1, elementSize)
        var start = 0
        while start < count {
            let length = min(piece, count - start)
            try body(start, Int32(length))
            start += length
        }
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        try allReduce(UnsafeMutableRawPointer(values.baseAddress), count: values.count, elementSize: 4, kind: 0)
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try allReduce(UnsafeMutableRawPointer(values.baseAddress), count: values.count, elementSize: 8, kind: 1)
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Int64>) throws {
        try allReduce(UnsafeMutableRawPointer(values.baseAddress), count: values.count, elementSize: 8, kind: 2)
    }

    private func allReduce(_ base: UnsafeMutableRawPointer?, count: Int, elementSize: Int, kind: Int32) throws {
        guard let base, count > 0 else { return }
        try inPieces(count, elementSize: elementSize) { start, length in
            try Self.call("summing \(count) values over \(size) ranks", fix: nil) {
                bt_mpi_allreduce_sum(base + start * elementSize, length, kind, $0, $1)
            }
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try inPieces(bytes.count, elementSize: 1) { start, length in
            try Self.call("broadcasting \(bytes.count) bytes from rank \(root)", fix: nil) {
                bt_mpi_broadcast(base + start, length, Int32(root), $0, $1)
            }
        }
    }

    public func barrier() throws {
        try Self.call("waiting for every rank (barrier)", fix: nil) { bt_mpi_barrier($0, $1) }
    }

    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
        guard bytes.count <= Int(Int32.max) else {
            throw CommunicatorError("gathering \(bytes.count) bytes from rank \(rank): more than MPI's 2 GiB in one message")
        }
        var counts = [Int32](repeating: 0, count: rank == root ? size : 1)
        try counts.withUnsafeMutableBufferPointer { counts in
            try Self.call("gathering sizes at rank \(root)", fix: nil) {
                bt_mpi_gather_int(Int32(bytes.count), counts.baseAddress!, Int32(root), $0, $1)
            }
        }
        var displacements = [Int32](repeating: 0, count: counts.count)
        var total = 0
        for i in counts.indices {
            guard total <= Int(Int32.max) else {
                throw CommunicatorError("gathering at rank \(root): more than MPI's 2 GiB in one message")
            }
            displacements[i] = Int32(total)
            total += Int(counts[i])
        }
        var received = [UInt8](repeating: 0, count: rank == root ? max(1, total) : 1)
        try bytes.withUnsafeBufferPointer { send in
            try received.withUnsafeMutableBufferPointer { receive in
                try Self.call("gathering \(bytes.count) bytes at rank \(root)", fix: nil) {
                    bt_mpi_gather_bytes(send.baseAddress ?? UnsafePointer(receive.baseAddress!), Int32(bytes.count),
                                        receive.baseAddress, counts, displacements, Int32(root), $0, $1)
                }
            }
        }
        guard rank == root else { return nil }
        return counts.indices.map { i in
            Array(received[Int(displacements[i]) ..< Int(displacements[i]) + Int(counts[i])])
        }
    }

    public func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = bt_mpi_finalize()
    }

    public func abortAll(code: Int32) { bt_mpi_abort(code) }
}
