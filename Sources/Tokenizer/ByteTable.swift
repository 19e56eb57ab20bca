/// 64-bit FNV-1a, the hash of `ByteTable` keys; WordPiece extends it one byte at a time.
enum FNV1a {
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    @inline(__always)
    static func combine(_ hash: UInt64, _ byte: UInt8) -> UInt64 { (hash ^ UInt64(byte)) &* prime }

    static func hash<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        bytes.reduce(offsetBasis, combine)
    }
}

/// Token ids keyed by UTF-8 bytes in one open-addressing table, so WordPiece can look up any slice
/// of a word's bytes without building a `String` for each candidate.
struct ByteTable: Sendable {
    private struct Slot: Sendable {
        var hash: UInt64
        var start: Int32
        var length: Int32
        var id: Int32  // -1: empty
    }

    private var keys: [UInt8] = []
    private var slots: [Slot]
    private let mask: Int
    /// No key is longer, so longer candidates need no lookup.
    private(set) var maxKeyLength = 0

    init<S: Sequence>(_ entries: S) where S.Element == (key: Substring.UTF8View, id: Int32) {
        let list = Array(entries)
        var capacity = 16
        while capacity < list.count * 2 { capacity <<= 1 }
        slots = Array(repeating: Slot(hash: 0, start: 0, length: 0, id: -1), count: capacity)
        mask = capacity - 1
        for (key, id) in list { insert(Array(key), id: id) }
    }

    /// A later entry for the same key wins, as when HF reads a vocab.txt into a dict.
    private mutating func insert(_ key: [UInt8], id: Int32) {
        let hash = FNV1a.hash(key)
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index].id >= 0 {
            let slot = slots[index]
            if slot.hash == hash, slot.length == key.count,
               keys[Int(slot.start)..<Int(slot.start) + key.count].elementsEqual(key) {
                slots[index].id = id
                return
            }
            index = (index + 1) & mask
        }
        slots[index] = Slot(hash: hash, start: Int32(keys.count), length: Int32(key.count), id: id)
        keys.append(contentsOf: key)
        maxKeyLength = max(maxKeyLength, key.count)
    }

    /// The id stored for `bytes[0..<count]`, whose FNV-1a hash is `hash`, or -1.
    @inline(__always)
    func lookup(_ bytes: UnsafePointer<UInt8>, count: Int, hash: UInt64) -> Int32 {
        slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                var index = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let slot = slots[index]
                    if slot.id < 0 { return -1 }
                    if slot.hash == hash, Int(slot.length) == count,
                       count == 0 || memcmp(keys.baseAddress! + Int(slot.start), bytes, count) == 0 {
                        return slot.id
                    }
                    index = (index + 1) & mask
                }
            }
        }
    }
}

extension ByteTable {
    func lookup(_ key: [UInt8]) -> Int32 {
        // An empty array may have no storage address; any pointer serves for a zero-length compare.
        var sentinel: UInt8 = 0
        return key.isEmpty
            ? lookup(&sentinel, count: 0, hash: FNV1a.offsetBasis)
            : key.withUnsafeBufferPointer { lookup($0.baseAddress!, count: key.count, hash: FNV1a.hash(key)) }
    }
}

@inline(__always)
private func memcmp(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    // A plain loop: keys are a few bytes long, shorter than a libc call's setup.
    for i in 0..<count where a[i] != b[i] { return 1 }
    return 0
}
