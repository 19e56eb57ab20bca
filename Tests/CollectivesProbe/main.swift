import DataParallel
import Foundation

// Runs every collective once with inputs that depend on the rank and prints what this rank got, one JSON object
// on one line, for DataParallelTests to check under `mpirun -np 2`.
do {
    let world = try World.join()
    defer { world.finalize() }
    let r = world.rank
    var floats: [Float] = [Float(r + 1), 0.25 * Float(r), -1.5]
    try floats.withUnsafeMutableBufferPointer { try world.allReduceSum($0) }
    let doubles = try world.allReduceSum([Double(r) + 0.125, 1e300 / 4])
    // Beyond 32 bits, so a 32-bit sum would show.
    let int64s = try world.allReduceSum([Int64(r) << 40, -7])
    let broadcast = try world.broadcast(r == world.size - 1 ? Array("from the last rank".utf8) : [], root: world.size - 1)
    try world.barrier()
    // Rank 0 sends nothing, rank k sends k bytes of value k + 10: empty and uneven payloads.
    let gathered = try world.gather([UInt8](repeating: UInt8(r + 10), count: r), root: 0)
    let record: [String: Any] = [
        "rank": r, "size": world.size, "summary": world.summary,
        "floats": floats.map(Double.init), "doubles": doubles, "int64s": int64s.map { NSNumber(value: $0) },
        "broadcast": String(decoding: broadcast, as: UTF8.self),
        "gathered": gathered.map { $0.map { $0.map(Int.init) } } as Any? ?? NSNull(),
    ]
    let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("collectives-probe: \(error)\n".utf8))
    exit(1)
}
