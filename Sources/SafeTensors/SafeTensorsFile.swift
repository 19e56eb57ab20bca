import FileIO
import Foundation
import StrictJSON

/// One tensor's entry in a safetensors header.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the data buffer, which starts right after the header.
    public let dataOffsets: Range<Int>
    /// The product of `shape` (1 for a scalar).
    public let elementCount: Int
}

/// A safetensors file, checked whole on open: after `init` succeeds, every tensor's bytes lie inside the
/// file, match its shape and dtype, and no two tensors share a byte, so reads cannot fail or over-read.
///
/// The format: 8 bytes of little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name
/// to `dtype`, `shape` and `data_offsets` (relative to the byte buffer after the header), an optional
/// `__metadata__` object of strings, then the tensors' bytes, contiguous and little-endian.
public struct SafeTensorsFile: Sendable {
    /// The reference implementation refuses larger headers; so do we, before allocating anything.
    public static let maximumHeaderLength = 100_000_000

    /// Where the bytes came from, used in every error.
    public let path: String
    /// The `__metadata__` strings (empty when absent).
    public let metadata: [String: String]
    /// Every tensor, in the order of its bytes in the file.
    public let tensors: [TensorInfo]
    private let indexByName: [String: Int]
    private let bytes: Data
    private let dataStart: Int

    /// Maps the file (pages are read when a tensor is) and checks its header against its size.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError.unreadable(path: url.path, reason: fileErrorReason(error, path: url.path))
        }
        try self.init(bytes: data, path: url.path)
    }

    /// Parses bytes already in memory; `path` only names them in errors.
    public init(bytes: Data, path: String) throws {
        // A zero-based copy of the indices keeps every offset below plain arithmetic, even for a Data slice.
        let bytes = bytes.startIndex == 0 ? bytes : Data(bytes)
        self.path = path
        self.bytes = bytes
        guard bytes.count >= 8 else { throw SafeTensorsError.fileTooSmall(path: path, size: bytes.count) }
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(bytes.count - 8), headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw SafeTensorsError.headerTooLarge(path: path, headerLength: headerLength, fileSize: bytes.count)
        }
        let headerEnd = 8 + Int(headerLength)
        dataStart = headerEnd
        let bufferLength = bytes.count - headerEnd

        // Numbers stay text so offsets never round; every pair is kept, so duplicates are caught below.
        let json: JSON
        do {
            json = try bytes.withUnsafeBytes { try JSON.parse(UnsafeRawBufferPointer(rebasing: $0[8..<headerEnd])) }
        } catch let error as JSONParseError {
            throw SafeTensorsError.invalidHeader(path: path, reason: "not JSON (\(error.message) at byte \(error.offset) of the header)")
        }
        guard case let .object(pairs) = json else {
            throw SafeTensorsError.invalidHeader(path: path, reason: "expected a JSON object, found \(json.kindName)")
        }

        var metadata: [String: String] = [:]
        var seenMetadata = false
        var infos: [TensorInfo] = []
        var indexByName: [String: Int] = [:]
        // Names compare as Swift Strings, which is stricter than the JSON's exact keys: `indexByName` and
        // `metadata` cannot hold two names that Swift calls equal, so canonically equivalent ones are duplicates too.
        for (name, value) in pairs {
            if name == "__metadata__" {
                if seenMetadata { throw SafeTensorsError.invalidHeader(path: path, reason: "__metadata__ appears twice") }
                seenMetadata = true
                metadata = try Self.parseMetadata(value, path: path)
                continue
            }
            if indexByName[name] != nil { throw SafeTensorsError.duplicateTensor(path: path, tensor: name) }
            let info = try Self.parseTensor(name: name, value: value, bufferLength: bufferLength, path: path)
            indexByName[name] = infos.count
            infos.append(info)
        }

        // Sorted by position, each tensor must start where the previous one ended: no overlap, no gap, and
        // the last one ends where the file does. This is the reference reader's rule.
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }
        var end = 0
        var previous: String?
        for info in infos {
            if info.dataOffsets.lowerBound < end, let previous {
                throw SafeTensorsError.overlappingTensors(path: path, first: previous, second: info.name)
            }
            if info.dataOffsets.lowerBound > end {
                throw SafeTensorsError.dataSizeMismatch(
                    path: path, reason: "bytes \(end)..<\(info.dataOffsets.lowerBound) of the data buffer belong to no tensor")
            }
            end = info.dataOffsets.upperBound
            previous = info.name
        }
        if end != bufferLength {
            throw SafeTensorsError.dataSizeMismatch(
                path: path,
                reason: "the tensors fill \(end) bytes but the file holds \(bufferLength) bytes after the header"
                    + (end > bufferLength ? " (the file is truncated)" : ""))
        }
        self.metadata = metadata
        self.tensors = infos
        self.indexByName = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    private static func parseMetadata(_ value: JSON, path: String) throws -> [String: String] {
        guard case let .object(pairs) = value else {
            throw SafeTensorsError.invalidHeader(path: path, reason: "__metadata__ must be an object, found \(value.kindName)")
        }
        var metadata: [String: String] = [:]
        for (key, item) in pairs {
            guard case let .string(text) = item else {
                throw SafeTensorsError.invalidHeader(
                    path: path, reason: "__metadata__ value for \"\(key)\" must be a string, found \(item.kindName)")
            }
            if metadata[key] != nil {
                throw SafeTensorsError.invalidHeader(path: path, reason: "__metadata__ key \"\(key)\" appears twice")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseTensor(name: String, value: JSON, bufferLength: Int, path: String) throws -> TensorInfo {
        func fail(_ reason: String) -> SafeTensorsError { .invalidTensor(path: path, tensor: name, reason: reason) }
        guard case let .object(fields) = value else { throw fail("expected an object, found \(value.kindName)") }
        var dtypeValue: JSON?, shapeValue: JSON?, offsetsValue: JSON?
        for (key, field) in fields {
            switch key {
            case "dtype": if dtypeValue != nil { throw fail("\"dtype\" appears twice") }; dtypeValue = field
            case "shape": if shapeValue != nil { throw fail("\"shape\" appears twice") }; shapeValue = field
            case "data_offsets": if offsetsValue != nil { throw fail("\"data_offsets\" appears twice") }; offsetsValue = field
            default: continue  // the reference reader ignores fields it does not know; so do we
            }
        }
        guard case let .string(dtypeName)? = dtypeValue else { throw fail("\"dtype\" is missing or not a string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw fail("unknown dtype \"\(dtypeName)\" (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard case let .array(dims)? = shapeValue else { throw fail("\"shape\" is missing or not an array") }
        var shape: [Int] = []
        var count = 1
        for dim in dims {
            guard let size = dim.exactInteger, size >= 0 else {
                throw fail("shape entries must be non-negative integers, found \(Self.render(dim))")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            if overflow { throw fail("shape \(Self.render(.array(dims))) has too many elements") }
            count = product
            shape.append(size)
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        if overflow { throw fail("shape \(shape) has too many bytes") }
        guard case let .array(offsets)? = offsetsValue, offsets.count == 2,
              let begin = offsets[0].exactInteger, let end = offsets[1].exactInteger else {
            throw fail("\"data_offsets\" must be an array of two integers")
        }
        guard begin >= 0, begin <= end else { throw fail("data_offsets [\(begin), \(end)] are not an ascending range") }
        guard end <= bufferLength else {
            throw fail("data_offsets [\(begin), \(end)] run past the \(bufferLength) bytes after the header")
        }
        guard end - begin == byteCount else {
            throw fail("data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(byteCount)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end, elementCount: count)
    }

    private static func render(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case let .bool(b): return String(b)
        case let .number(text): return text
        case let .string(s): return HeaderJSONWriter.quoted(s)
        case let .array(items): return "[" + items.map(render).joined(separator: ",") + "]"
        case .object: return "an object"
        }
    }

    /// Tensor names in the order of their bytes in the file.
    public var names: [String] { tensors.map(\.name) }

    /// The entry of the named tensor, if present.
    public func info(_ name: String) -> TensorInfo? { indexByName[name].map { tensors[$0] } }

    private func requireInfo(_ name: String) throws -> TensorInfo {
        guard let info = info(name) else { throw SafeTensorsError.tensorNotFound(path: path, tensor: name) }
        return info
    }

    /// The named tensor's raw little-endian bytes.
    public func rawData(_ name: String) throws -> Data {
        let info = try requireInfo(name)
        return bytes.subdata(in: (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound))
    }

    /// The named floating-point tensor (F32, F16, BF16 exactly; F64 rounded to nearest) as `Float`s in row-major order.
    public func floats(_ name: String) throws -> [Float] {
        let info = try requireInfo(name)
        var values = [Float](repeating: 0, count: info.elementCount)
        try values.withUnsafeMutableBufferPointer { try readFloats(info, into: $0) }
        return values
    }

    /// Reads the named floating-point tensor into `destination`, which must hold exactly its element count.
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try readFloats(try requireInfo(name), into: destination)
    }

    private func readFloats(_ info: TensorInfo, into destination: UnsafeMutableBufferPointer<Float>) throws {
        precondition(destination.count == info.elementCount,
                     "destination holds \(destination.count) floats but \(info.name) has \(info.elementCount)")
        guard info.dtype.isFloatingPoint else {
            throw SafeTensorsError.unsupportedConversion(path: path, tensor: info.name, dtype: info.dtype.rawValue, wanted: "Float")
        }
        let start = dataStart + info.dataOffsets.lowerBound
        bytes.withUnsafeBytes { raw in
            let source = UnsafeRawBufferPointer(rebasing: raw[start..<(start + info.dataOffsets.count)])
            switch info.dtype {
            case .f32:
                #if _endian(little)
                UnsafeMutableRawBufferPointer(destination).copyMemory(from: source)
                #else
                for i in 0..<destination.count {
                    destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
                #endif
            case .f16:
                for i in 0..<destination.count {
                    destination[i] = HalfFloat.f16ToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .bf16:
                for i in 0..<destination.count {
                    destination[i] = HalfFloat.bf16ToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .f64:
                for i in 0..<destination.count {
                    destination[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            default:
                preconditionFailure("isFloatingPoint admitted \(info.dtype)")
            }
        }
    }

    /// The named integer (or BOOL) tensor as `Int64`s in row-major order.
    public func integers(_ name: String) throws -> [Int64] {
        let info = try requireInfo(name)
        guard info.dtype.isInteger else {
            throw SafeTensorsError.unsupportedConversion(path: path, tensor: name, dtype: info.dtype.rawValue, wanted: "Int64")
        }
        let start = dataStart + info.dataOffsets.lowerBound
        return try bytes.withUnsafeBytes { raw -> [Int64] in
            let source = UnsafeRawBufferPointer(rebasing: raw[start..<(start + info.dataOffsets.count)])
            return try (0..<info.elementCount).map { i -> Int64 in
                switch info.dtype {
                case .bool, .u8: return Int64(source[i])
                case .i8: return Int64(Int8(bitPattern: source[i]))
                case .i16: return Int64(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .u16: return Int64(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .i32: return Int64(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .u32: return Int64(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .i64: return Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case .u64:
                    let value = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    guard let exact = Int64(exactly: value) else {
                        throw SafeTensorsError.unsupportedConversion(
                            path: path, tensor: name, dtype: "U64 (value \(value) at element \(i))", wanted: "Int64")
                    }
                    return exact
                default: preconditionFailure("isInteger admitted \(info.dtype)")
                }
            }
        }
    }
}
