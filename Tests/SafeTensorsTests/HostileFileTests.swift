import Foundation
import Testing
@testable import SafeTensors

/// Damaged and hostile files must be typed errors naming the file (and tensor), never a crash or an over-read.
@Suite struct HostileFileTests {
    let path = "hostile.safetensors"
    let validHeader = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]}}"#
    var validFile: Data { safetensorsBytes(header: validHeader, data: Array(repeating: 0x3C, count: 14)) }

    func parse(_ bytes: Data) -> SafeTensorsError? {
        safeTensorsError { _ = try SafeTensorsFile(bytes: bytes, path: path) }
    }

    func parse(header: String, data: [UInt8]) -> SafeTensorsError? {
        parse(safetensorsBytes(header: header, data: data))
    }

    @Test func theValidFileParses() throws {
        let file = try SafeTensorsFile(bytes: validFile, path: path)
        #expect(file.names == ["a", "b"])
        #expect(try file.floats("b") == [1.05859375, 1.05859375, 1.05859375])  // F16 0x3C3C = 1 + 60/1024
    }

    @Test func everyTruncationIsAnError() {
        let bytes = validFile
        for length in 0..<bytes.count {
            #expect(parse(bytes.prefix(length)) != nil, "truncated to \(length) of \(bytes.count) bytes")
        }
        #expect(parse(bytes.prefix(3)) == .fileTooSmall(path: path, size: 3))
        #expect(parse(bytes.prefix(bytes.count - 1)) == .invalidTensor(
            path: path, tensor: "b", reason: "data_offsets [8, 14] run past the 13 bytes after the header"))
    }

    @Test func corruptingAnyByteNeverCrashesAndReadsStayInBounds() {
        let bytes = validFile
        for index in 0..<bytes.count {
            for replacement: UInt8 in [0x00, 0xFF, UInt8(ascii: "9"), UInt8(ascii: "\""), UInt8(ascii: "[")] {
                var damaged = bytes
                damaged[index] = replacement
                guard let file = try? SafeTensorsFile(bytes: damaged, path: path) else { continue }
                for info in file.tensors where info.dtype.isFloatingPoint {
                    #expect((try? file.floats(info.name))?.count == info.elementCount)
                }
            }
        }
    }

    @Test func absurdHeaderLengthsAreRejected() {
        for claimed: UInt64 in [UInt64.max, 1 << 63, UInt64(validHeader.utf8.count + 15), 200_000_000] {
            let bytes = safetensorsBytes(header: validHeader, data: Array(repeating: 0, count: 14), headerLength: claimed)
            #expect(parse(bytes) == .headerTooLarge(path: path, headerLength: claimed, fileSize: bytes.count))
        }
        let error = parse(safetensorsBytes(header: validHeader, data: [], headerLength: .max))
        #expect(error?.description.contains(path) == true)
    }

    @Test func headersThatAreNotTheRightJSONAreRejected() {
        for header in ["", "not json", "[1,2]", "{\"a\":", "{\"a\":{}} x", "{\"a\":{\"dtype\":\"F32\",}}", "\"text\""] {
            guard case .invalidHeader? = parse(header: header, data: []) else {
                Issue.record("header \(header) was not rejected as invalid")
                continue
            }
        }
        #expect(parse(header: "{\"a\":1,}", data: []) == .invalidHeader(
            path: path, reason: "not JSON (expected a string key in an object at byte 7 of the header)"))
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        guard case .invalidHeader? = parse(header: deep, data: []) else {
            Issue.record("deeply nested header was not rejected")
            return
        }
        var invalidUTF8 = safetensorsBytes(header: #"{"aX":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#, data: [])
        invalidUTF8[8 + 3] = 0xFF
        guard case .invalidHeader? = parse(invalidUTF8) else {
            Issue.record("invalid UTF-8 in a name was not rejected")
            return
        }
        #expect(parse(header: #"{"__metadata__":{"k":1}}"#, data: []) == .invalidHeader(
            path: path, reason: "__metadata__ value for \"k\" must be a string, found a number"))
    }

    @Test func overlappingTensorsAreNamed() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(parse(header: header, data: Array(repeating: 0, count: 8)) == .overlappingTensors(path: path, first: "a", second: "b"))
    }

    @Test func gapsAndLeftoverBytesAreRejected() {
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(parse(header: gap, data: Array(repeating: 0, count: 12)) == .dataSizeMismatch(
            path: path, reason: "bytes 4..<8 of the data buffer belong to no tensor"))
        let one = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        #expect(parse(header: one, data: Array(repeating: 0, count: 6)) == .dataSizeMismatch(
            path: path, reason: "the tensors fill 4 bytes but the file holds 6 bytes after the header"))
    }

    @Test func offsetsMustMatchShapeTimesDtypeAndStayInTheFile() {
        func tensorError(_ entry: String, data: Int = 16) -> SafeTensorsError? {
            parse(header: "{\"t\":\(entry)}", data: Array(repeating: 0, count: data))
        }
        #expect(tensorError(#"{"dtype":"F32","shape":[3],"data_offsets":[0,16]}"#) == .invalidTensor(
            path: path, tensor: "t", reason: "data_offsets [0, 16] hold 16 bytes but shape [3] of F32 needs 12"))
        #expect(tensorError(#"{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}"#) == .invalidTensor(
            path: path, tensor: "t", reason: "data_offsets [0, 16] hold 16 bytes but shape [2, 2] of BF16 needs 8"))
        #expect(tensorError(#"{"dtype":"F32","shape":[8],"data_offsets":[0,32]}"#) == .invalidTensor(
            path: path, tensor: "t", reason: "data_offsets [0, 32] run past the 16 bytes after the header"))
        #expect(tensorError(#"{"dtype":"F32","shape":[4],"data_offsets":[16,0]}"#) == .invalidTensor(
            path: path, tensor: "t", reason: "data_offsets [16, 0] are not an ascending range"))
        #expect(tensorError(#"{"dtype":"F32","shape":[4],"data_offsets":[-4,12]}"#) == .invalidTensor(
            path: path, tensor: "t", reason: "data_offsets [-4, 12] are not an ascending range"))
        for bad in [#"[0]"#, #"[0,16,32]"#, #"[0,1.6e1]"#, #"[0,"16"]"#, #"[0,99999999999999999999999]"#] {
            #expect(tensorError("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":\(bad)}") == .invalidTensor(
                path: path, tensor: "t", reason: "\"data_offsets\" must be an array of two integers"), "\(bad)")
        }
    }

    @Test func negativeFractionalAndOverflowingShapesAreRejected() {
        func shapeError(_ shape: String) -> SafeTensorsError? {
            parse(header: "{\"t\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,16]}}", data: Array(repeating: 0, count: 16))
        }
        #expect(shapeError("[-4]") == .invalidTensor(path: path, tensor: "t", reason: "shape entries must be non-negative integers, found -4"))
        #expect(shapeError("[2.5]") == .invalidTensor(path: path, tensor: "t", reason: "shape entries must be non-negative integers, found 2.5"))
        #expect(shapeError("[4611686018427387904,4]") == .invalidTensor(
            path: path, tensor: "t", reason: "shape [4611686018427387904,4] has too many elements"))
        #expect(shapeError("[4611686018427387904]") == .invalidTensor(
            path: path, tensor: "t", reason: "shape [4611686018427387904] has too many bytes"))
        #expect(shapeError("[18446744073709551616]") == .invalidTensor(
            path: path, tensor: "t", reason: "shape entries must be non-negative integers, found 18446744073709551616"))
        #expect(shapeError("\"4\"") == .invalidTensor(path: path, tensor: "t", reason: "\"shape\" is missing or not an array"))
    }

    @Test func duplicateNamesAndUnknownDtypesAreRejected() {
        let duplicate = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(parse(header: duplicate, data: Array(repeating: 0, count: 8)) == .duplicateTensor(path: path, tensor: "a"))
        guard case let .invalidTensor(_, tensor, reason)? = parse(
            header: #"{"w":{"dtype":"F24","shape":[1],"data_offsets":[0,3]}}"#, data: [0, 0, 0]) else {
            Issue.record("unknown dtype was not rejected")
            return
        }
        #expect(tensor == "w" && reason.hasPrefix("unknown dtype \"F24\""))
    }

    @Test func errorsNameTheFileAndTheTensorAndSayWhatToDo() {
        let error = SafeTensorsError.invalidTensor(path: "/m/model.safetensors", tensor: "bert.x", reason: "r")
        #expect(error.description.contains("/m/model.safetensors"))
        #expect(error.description.contains("bert.x"))
        #expect(error.description.contains("export it again"))
    }

    @Test func aMissingFileIsUnreadable() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID()).safetensors")
        guard case let .unreadable(path, _)? = safeTensorsError({ _ = try SafeTensorsFile(contentsOf: url) }) else {
            Issue.record("expected unreadable")
            return
        }
        #expect(path == url.path)
    }
}
