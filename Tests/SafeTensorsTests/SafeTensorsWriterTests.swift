import Foundation
import Testing
@testable import SafeTensors

@Suite struct SafeTensorsWriterTests {
    let tensors = [
        F32Tensor(name: "b.weight", shape: [2, 3], values: (0..<6).map { Float($0) / 4 }),
        F32Tensor(name: "a.bias", shape: [3], values: [-1.5, 0.0, 2.0e-3]),
        F32Tensor(name: "c", shape: [1, 1, 1], values: [1.0]),
    ]

    @Test func reproducesThePythonWriterByteForByte() throws {
        let python = try Data(contentsOf: Fixture.url("python-f32.safetensors"))
        let ours = try SafeTensorsWriter.encode(
            tensors, metadata: ["generator": "Scripts/make_bert_fixtures.py (escapes: quote \" backslash \\ tab \t)"])
        #expect(ours == python)
    }

    @Test func roundTripsValuesShapesAndMetadataThroughAFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("weights.safetensors")
        let special: [Float] = [.infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan, Float(bitPattern: 0x0001_2345)]
        let written = tensors + [F32Tensor(name: "special ✓", shape: [7], values: special),
                                 F32Tensor(name: "empty", shape: [0, 4], values: [])]
        try SafeTensorsWriter.write(written, metadata: ["format": "pt", "é": "ü"], to: url)
        // Overwriting replaces the file whole.
        try SafeTensorsWriter.write(written, metadata: ["format": "pt", "é": "ü"], to: url)

        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.metadata == ["format": "pt", "é": "ü"])
        for tensor in written {
            #expect(file.info(tensor.name)?.shape == tensor.shape)
            #expect(file.info(tensor.name)?.dtype == .f32)
            #expect(try file.floats(tensor.name).map(\.bitPattern) == tensor.values.map(\.bitPattern), "\(tensor.name)")
        }
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect(headerLength % 8 == 0, "the reference writer aligns the data buffer to 8 bytes")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["weights.safetensors"],
                "no temporary file is left behind")
    }

    @Test func rejectsInconsistentTensorsBeforeWritingAnything() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.safetensors")
        let wrongCount = safeTensorsError {
            try SafeTensorsWriter.write([F32Tensor(name: "w", shape: [2, 2], values: [1, 2, 3])], to: url)
        }
        #expect(wrongCount == .invalidTensor(path: url.path, tensor: "w", reason: "shape [2, 2] needs 4 values but 3 were given"))
        #expect(throws: SafeTensorsError.duplicateTensor(path: url.path, tensor: "w")) {
            try SafeTensorsWriter.write([F32Tensor(name: "w", shape: [1], values: [1]),
                                         F32Tensor(name: "w", shape: [1], values: [2])], to: url)
        }
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write([F32Tensor(name: "__metadata__", shape: [1], values: [1])], to: url)
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func failsWithTheDestinationNamedWhenTheDirectoryIsMissing() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-dir-\(UUID())/w.safetensors")
        let error = safeTensorsError { try SafeTensorsWriter.write(tensors, to: url) }
        guard case let .writeFailed(path, _)? = error else {
            Issue.record("expected writeFailed, got \(String(describing: error))")
            return
        }
        #expect(path == url.path)
    }
}
