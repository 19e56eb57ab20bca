import Foundation

/// One flat, zero-initialised, 64-byte-aligned allocation of Float32, freed with its owner.
///
/// Views into it are plain pointers; the slab exists so a model's parameters, gradients, optimizer
/// moments and activations are each a single allocation made once.
public final class FloatSlab: @unchecked Sendable {
    public let buffer: UnsafeMutableBufferPointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "negative slab size \(count)")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        let typed = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        typed.initialize(repeating: 0, count: Swift.max(count, 1))
        buffer = UnsafeMutableBufferPointer(start: typed, count: count)
    }

    deinit { UnsafeMutableRawPointer(buffer.baseAddress!).deallocate() }

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
