import FileIO
import Foundation

/// A Float32 tensor to write: name, row-major shape and values.
public struct F32Tensor: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// Writes Float32 tensors in the reference writer's layout: `__metadata__` first, tensors sorted by name
/// (all F32, so the reference's dtype-then-name order is the name order), the header padded with spaces
/// to a multiple of 8 bytes so every tensor starts aligned. Metadata keys are sorted: the reference
/// writer's order follows a hash and is not reproducible, and readers do not depend on it.
public enum SafeTensorsWriter {
    /// The whole file in memory.
    public static func encode(_ tensors: [F32Tensor], metadata: [String: String] = [:], path: String = "<memory>") throws -> Data {
        let (header, ordered) = try makeHeader(tensors, metadata: metadata, path: path)
        var data = Data(capacity: header.count + ordered.reduce(0) { $0 + 4 * $1.values.count })
        data.append(header)
        for tensor in ordered { data.append(littleEndianBytes(tensor.values)) }
        return data
    }

    /// Streams the file out as every output is written (`OutputFile`): a regular file is written beside
    /// `url` and renamed over it, so readers see the old file or the whole new one, never a part; a
    /// symbolic link's target is replaced and the link kept; a device or FIFO is written in place.
    public static func write(_ tensors: [F32Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let (header, ordered) = try makeHeader(tensors, metadata: metadata, path: url.path)
        do {
            try OutputFile.write(to: url.path) { sink in
                try sink.write(header)
                for tensor in ordered { try sink.write(littleEndianBytes(tensor.values)) }
            }
        } catch {
            throw SafeTensorsError.writeFailed(path: url.path, reason: fileErrorReason(error))
        }
    }

    private static func makeHeader(_ tensors: [F32Tensor], metadata: [String: String], path: String) throws -> (Data, [F32Tensor]) {
        var seen = Set<String>()
        for tensor in tensors {
            func fail(_ reason: String) -> SafeTensorsError { .invalidTensor(path: path, tensor: tensor.name, reason: reason) }
            if tensor.name == "__metadata__" { throw fail("the name is reserved for the metadata") }
            if !seen.insert(tensor.name).inserted { throw SafeTensorsError.duplicateTensor(path: path, tensor: tensor.name) }
            if let negative = tensor.shape.first(where: { $0 < 0 }) { throw fail("shape \(tensor.shape) has a negative size \(negative)") }
            let count = tensor.shape.reduce(1, *)
            if count != tensor.values.count { throw fail("shape \(tensor.shape) needs \(count) values but \(tensor.values.count) were given") }
        }
        let ordered = tensors.sorted { $0.name < $1.name }
        var json = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { HeaderJSONWriter.quoted($0) + ":" + HeaderJSONWriter.quoted(metadata[$0]!) }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for tensor in ordered {
            let end = offset + 4 * tensor.values.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append(HeaderJSONWriter.quoted(tensor.name)
                + ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        json += fields.joined(separator: ",") + "}"
        var headerBytes = Array(json.utf8)
        headerBytes += Array(repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8)
        var header = Data(capacity: 8 + headerBytes.count)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { header.append(contentsOf: $0) }
        header.append(contentsOf: headerBytes)
        return (header, ordered)
    }

    private static func littleEndianBytes(_ values: [Float]) -> Data {
        #if _endian(little)
        return values.withUnsafeBytes { Data($0) }
        #else
        return values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        #endif
    }
}
