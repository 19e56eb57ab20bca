import FuzzSupport
import StrictJSON

/// Any bytes: parse or a `JSONParseError` at an offset inside the input; every string parsed survives
/// `JSON.quoted` and a second parse unchanged, scalar for scalar.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStrictJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let value = try JSON.parse(bytes)
        checkStrings(value)
    } catch let error as JSONParseError {
        require(error.offset >= 0 && error.offset <= size, "offset \(error.offset) outside \(size) bytes")
        require(error.line >= 1 && error.column >= 1, "line \(error.line), column \(error.column)")
    } catch {
        fatalError("threw \(type(of: error)): \(error)")
    }
    return 0
}

private func checkStrings(_ value: JSON) {
    switch value {
    case .string(let text):
        checkQuoted(text)
    case .array(let items):
        items.forEach(checkStrings)
    case .object(let pairs):
        for pair in pairs {
            checkQuoted(pair.key)
            checkStrings(pair.value)
        }
    case .null, .bool, .number(_):
        break
    }
}

private func checkQuoted(_ text: String) {
    let quoted = JSON.quoted(text)
    do {
        let again = try JSON.parse(Array(quoted.utf8))
        require(again == .string(text), "\(quoted) parses to \(again)")
    } catch {
        fatalError("JSON.quoted wrote \(quoted), which does not parse: \(error)")
    }
}
