import Foundation
import FuzzSupport
import SafeTensors

/// safetensors files: header length, JSON header, dtypes, shapes, offsets, overlaps and truncation are
/// checked on open; after that, reading every tensor in every way it allows cannot fail or over-read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "fuzz/model.safetensors"
    let file: SafeTensorsFile
    do {
        file = try SafeTensorsFile(bytes: Data(bytes: data, count: size), path: path)
    } catch {
        requireCleanError(error, SafeTensorsError.self, naming: path)
        return 0
    }
    var end = 0
    for info in file.tensors {
        require(info.dataOffsets.lowerBound == end, "tensor \(info.name) starts at \(info.dataOffsets.lowerBound), not \(end)")
        require(info.dataOffsets.count == info.elementCount * info.dtype.byteSize, "tensor \(info.name) has the wrong size")
        end = info.dataOffsets.upperBound
        require(file.info(info.name) == info, "tensor \(info.name) is not found by name")
        do {
            require(try file.rawData(info.name).count == info.dataOffsets.count, "raw bytes of \(info.name)")
            if info.dtype.isFloatingPoint {
                require(try file.floats(info.name).count == info.elementCount, "floats of \(info.name)")
            }
            if info.dtype.isInteger {
                do {
                    require(try file.integers(info.name).count == info.elementCount, "integers of \(info.name)")
                } catch {
                    // A U64 beyond Int64 is refused with a SafeTensorsError; nothing else may fail.
                    requireCleanError(error, SafeTensorsError.self, naming: path)
                    require(info.dtype == .u64, "integers of \(info.name) failed: \(error)")
                }
            }
        } catch {
            fatalError("reading \(info.name) failed after the file was checked: \(error)")
        }
    }
    return 0
}
