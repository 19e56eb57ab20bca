import Testing
@testable import Tensors

@Suite struct FloatSlabTests {
    @Test func slabsOfEverySizeStartAtZeroAndKeepWhatIsWritten() {
        // Below and above the size from which slabs are mapped from zero pages instead of allocated.
        let threshold = FloatSlab.mappingThreshold / MemoryLayout<Float>.stride
        for count in [0, 1, 1000, threshold - 1, threshold, 3 * threshold + 17] {
            let slab = FloatSlab(count: count)
            #expect(slab.count == count)
            #expect(Int(bitPattern: slab.pointer) % 64 == 0, "\(count) floats: 64-byte aligned")
            #expect(slab.buffer.allSatisfy { $0 == 0 }, "\(count) floats start at zero")
            for i in stride(from: 0, to: count, by: 4099) { slab.buffer[i] = Float(i) + 0.5 }
            #expect(stride(from: 0, to: count, by: 4099).allSatisfy { slab.buffer[$0] == Float($0) + 0.5 })
            slab.zero()
            #expect(slab.buffer.allSatisfy { $0 == 0 }, "\(count) floats zeroed again")
        }
    }
}
