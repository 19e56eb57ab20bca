/// Problems a user can meet when training, each saying what to do about it.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason):
            return "\(path): cannot write (\(reason)). Check that the output directory is writable and the disk has space."
        }
    }
}
