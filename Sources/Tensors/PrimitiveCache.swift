import Dispatch

/// A bounded map from a product's shape to what was made for it, least recently used out first.
///
/// oneDNN makes one primitive per shape, and packed batches vary in length, so a long-running process meets
/// shapes without end; keeping them all grows memory with every new batch length. The cache keeps the most
/// recently used `capacity` and counts what it finds, makes and drops, so the capacity can be set from its
/// measured hit rate.
struct PrimitiveCache<Key: Hashable, Value> {
    let capacity: Int
    private var entries: [Key: (value: Value, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    private(set) var statistics = PrimitiveCacheStatistics()

    init(capacity: Int) {
        precondition(capacity >= 1, "a primitive cache holds at least one entry, asked for \(capacity)")
        self.capacity = capacity
        entries.reserveCapacity(capacity)
    }

    var count: Int { entries.count }

    /// The value for `key`, made by `make` when absent; the least recently used entry makes room when full.
    mutating func value(for key: Key, make: () throws -> Value) rethrows -> Value {
        clock += 1
        if let found = entries[key] {
            entries[key] = (found.value, clock)
            statistics.hits += 1
            return found.value
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let made = try make()
        statistics.makingSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if entries.count >= capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            entries[oldest] = nil
            statistics.evictions += 1
        }
        entries[key] = (made, clock)
        statistics.misses += 1
        return made
    }

    func contains(_ key: Key) -> Bool { entries[key] != nil }
}

/// What a primitive cache has done since the process started.
public struct PrimitiveCacheStatistics: Sendable, Equatable, CustomStringConvertible {
    /// Products whose primitive was found.
    public var hits = 0
    /// Products whose primitive was made (each new shape, and each shape met again after it was dropped).
    public var misses = 0
    /// Primitives dropped to make room.
    public var evictions = 0
    /// Time spent making primitives.
    public var makingSeconds = 0.0

    public var hitRate: Double { hits + misses == 0 ? 1 : Double(hits) / Double(hits + misses) }

    public var description: String {
        "\(hits + misses) products, \(misses) primitives made (hit rate \(String(format: "%.1f", hitRate * 100))%), "
            + "\(evictions) dropped, \(String(format: "%.0f", makingSeconds * 1000)) ms making them"
    }
}
