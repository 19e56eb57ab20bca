/// What can be wrong with a safetensors file, each case naming the file (and the tensor when there is one).
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// Fewer than the 8 bytes that hold the header length.
    case fileTooSmall(path: String, size: Int)
    /// The header length in the first 8 bytes does not fit in the file (or exceeds the 100 MB limit).
    case headerTooLarge(path: String, headerLength: UInt64, fileSize: Int)
    /// The header is not UTF-8 JSON of the expected shape.
    case invalidHeader(path: String, reason: String)
    /// A tensor's entry is malformed: unknown dtype, bad shape, offsets out of range or not matching shape × dtype.
    case invalidTensor(path: String, tensor: String, reason: String)
    /// The same tensor name appears twice in the header.
    case duplicateTensor(path: String, tensor: String)
    /// Two tensors claim the same bytes.
    case overlappingTensors(path: String, first: String, second: String)
    /// The tensors do not cover the data buffer exactly (bytes missing, a gap, or bytes left over).
    case dataSizeMismatch(path: String, reason: String)
    /// No tensor of this name in the file.
    case tensorNotFound(path: String, tensor: String)
    /// The tensor's dtype cannot be read as the asked-for kind (integers as floats, or the reverse).
    case unsupportedConversion(path: String, tensor: String, dtype: String, wanted: String)
    /// Writing failed; nothing was left at the destination.
    case writeFailed(path: String, reason: String)

    public var description: String {
        let regenerate = "The file is damaged or was not written by a safetensors writer; export it again"
            + " (e.g. with Python's safetensors.torch.save_file)."
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read the safetensors file (\(reason))."
        case let .fileTooSmall(path, size):
            return "\(path): \(size) bytes is too small for a safetensors file (at least 8 are needed). \(regenerate)"
        case let .headerTooLarge(path, headerLength, fileSize):
            return "\(path): the header claims \(headerLength) bytes but the file has \(fileSize) bytes"
                + " (and headers are limited to \(SafeTensorsFile.maximumHeaderLength) bytes). \(regenerate)"
        case let .invalidHeader(path, reason):
            return "\(path): invalid safetensors header: \(reason). \(regenerate)"
        case let .invalidTensor(path, tensor, reason):
            return "\(path): tensor \"\(tensor)\": \(reason). \(regenerate)"
        case let .duplicateTensor(path, tensor):
            return "\(path): tensor \"\(tensor)\" appears more than once in the header. \(regenerate)"
        case let .overlappingTensors(path, first, second):
            return "\(path): tensors \"\(first)\" and \"\(second)\" overlap in the data buffer. \(regenerate)"
        case let .dataSizeMismatch(path, reason):
            return "\(path): \(reason). \(regenerate)"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named \"\(tensor)\"."
        case let .unsupportedConversion(path, tensor, dtype, wanted):
            return "\(path): tensor \"\(tensor)\" has dtype \(dtype), which cannot be read as \(wanted)."
        case let .writeFailed(path, reason):
            return "\(path): cannot write the safetensors file (\(reason)). Check that the directory exists and is writable."
        }
    }
}
