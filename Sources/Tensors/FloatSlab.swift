import Foundation

/// One flat, zero-initialised, 64-byte-aligned allocation of Float32, freed with its owner.
///
/// Views into it are plain pointers; the slab exists so a model's parameters, gradients, optimizer
/// moments and activations are each a single allocation made once. A slab of a megabyte or more is mapped
/// from the system's zero pages, so memory planned for the longest batch or sequence becomes resident only
/// where a batch writes it (a tagger planned for 512-token sequences tags CoNLL's short ones in a fraction).
public final class FloatSlab: @unchecked Sendable {
    public let buffer: UnsafeMutableBufferPointer<Float>
    /// Bytes mapped for the slab, or 0 when it came from the allocator.
    private let mappedBytes: Int

    /// Slabs from this many bytes up are mapped rather than allocated.
    static let mappingThreshold = 1 << 20

    public init(count: Int) {
        precondition(count >= 0, "negative slab size \(count)")
        let capacity = Swift.max(count, 1), bytes = capacity * MemoryLayout<Float>.stride
        if bytes >= Self.mappingThreshold,
           let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
           mapped != MAP_FAILED {
            // Fresh anonymous pages read as zero: the slab is initialised without being touched.
            mappedBytes = bytes
            buffer = UnsafeMutableBufferPointer(start: mapped.bindMemory(to: Float.self, capacity: capacity), count: count)
            return
        }
        mappedBytes = 0
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let typed = raw.bindMemory(to: Float.self, capacity: capacity)
        typed.initialize(repeating: 0, count: capacity)
        buffer = UnsafeMutableBufferPointer(start: typed, count: count)
    }

    deinit {
        if mappedBytes > 0 {
            munmap(UnsafeMutableRawPointer(buffer.baseAddress!), mappedBytes)
        } else {
            UnsafeMutableRawPointer(buffer.baseAddress!).deallocate()
        }
    }

    public var count: Int { buffer.count }
    public var pointer: UnsafeMutablePointer<Float> { buffer.baseAddress! }

    /// Sets every element to zero, spread over the cores.
    public func zero() { fill(buffer.baseAddress!, count: buffer.count, with: 0) }
}

/// Sets `count` floats to `value`, spread over the cores.
public func fill(_ out: UnsafeMutablePointer<Float>, count: Int, with value: Float) {
    Parallel.forEachChunk(count, grain: 1 << 16) { r in
        (out + r.lowerBound).update(repeating: value, count: r.count)
    }
}
