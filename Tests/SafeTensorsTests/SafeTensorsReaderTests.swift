import Foundation
import Testing
@testable import SafeTensors

/// Files written by Python's safetensors (Scripts/make_bert_fixtures.py).
@Suite struct PythonWrittenFileTests {
    let file: SafeTensorsFile

    init() throws { file = try SafeTensorsFile(contentsOf: Fixture.url("python-dtypes.safetensors")) }

    @Test func readsMetadataNamesDtypesAndShapes() throws {
        #expect(file.metadata["generator"] == "Scripts/make_bert_fixtures.py")
        #expect(file.metadata["format"] == "pt")
        #expect(Set(file.names) == ["f16", "f16_as_f32", "bf16", "bf16_as_f32", "f64", "f64_as_f32", "i64", "i32",
                                    "u8", "bool", "scalar", "empty"])
        #expect(file.info("f16")?.dtype == .f16)
        #expect(file.info("f16")?.shape == [3, 4])
        #expect(file.info("bf16")?.dtype == .bf16)
        #expect(file.info("bool")?.dtype == .bool)
        #expect(file.info("scalar")?.shape == [])
        #expect(file.info("scalar")?.elementCount == 1)
        #expect(file.info("empty")?.shape == [0, 3])
        #expect(file.info("empty")?.elementCount == 0)
        #expect(file.info("missing") == nil)
    }

    @Test func convertsF16AndBF16ExactlyAsTorchDoes() throws {
        for (half, single) in [("f16", "f16_as_f32"), ("bf16", "bf16_as_f32")] {
            let converted = try file.floats(half)
            let reference = try file.floats(single)
            #expect(converted.count == reference.count)
            #expect(converted.map(\.bitPattern) == reference.map(\.bitPattern), "\(half)")
        }
        let f16 = try file.floats("f16")
        #expect(f16[2] == Float(sign: .plus, exponent: -24, significand: 1))  // smallest subnormal
        #expect(f16[7] == 65504)
        #expect(f16[8] == .infinity && f16[9] == -.infinity)
        #expect(f16[1] == 0 && f16[1].sign == .minus)
    }

    @Test func roundsF64ToNearestFloat() throws {
        #expect(try file.floats("f64").map(\.bitPattern) == file.floats("f64_as_f32").map(\.bitPattern))
    }

    @Test func readsIntegersExactly() throws {
        #expect(try file.integers("i64") == [Int64.min, -1, 0, 101, Int64.max])
        #expect(try file.integers("i32") == [Int64(Int32.min), 7, 0, Int64(Int32.max)])
        #expect(try file.integers("u8") == [0, 1, 255])
        #expect(try file.integers("bool") == [1, 0, 1])
        #expect(try file.floats("scalar") == [2.5])
        #expect(try file.floats("empty") == [])
    }

    @Test func refusesToReadIntegersAsFloatsAndTheReverse() throws {
        let path = Fixture.url("python-dtypes.safetensors").path
        #expect(throws: SafeTensorsError.unsupportedConversion(path: path, tensor: "i64", dtype: "I64", wanted: "Float")) {
            try file.floats("i64")
        }
        #expect(throws: SafeTensorsError.unsupportedConversion(path: path, tensor: "f16", dtype: "F16", wanted: "Int64")) {
            try file.integers("f16")
        }
        #expect(throws: SafeTensorsError.tensorNotFound(path: path, tensor: "nope")) { try file.floats("nope") }
    }

    static let defaultEncoderWeights = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/all-MiniLM-L6-v2/model.safetensors")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: defaultEncoderWeights.path),
                   "models/all-MiniLM-L6-v2/model.safetensors is absent (run Scripts/setup.sh --no-build to fetch the default encoder)"))
    func readsTheDefaultEncoderHeaderWhenPresent() throws {
        let url = Self.defaultEncoderWeights
        let encoder = try SafeTensorsFile(contentsOf: url)
        #expect(encoder.info("embeddings.word_embeddings.weight")?.shape == [30522, 384])
        #expect(encoder.info("embeddings.position_ids")?.dtype == .i64)
        #expect(try encoder.floats("embeddings.LayerNorm.weight").count == 384)
    }
}

@Suite struct HalfFloatTests {
    /// Every binary16 bit pattern against the definition, value = (-1)^s × 2^(e-15) × (1 + m/1024), in Double.
    @Test func f16ConversionMatchesTheDefinitionForEveryBitPattern() {
        var mismatches: [UInt16] = []
        for raw in 0...UInt32(UInt16.max) {
            let bits = UInt16(raw)
            let sign: Double = bits >> 15 == 1 ? -1 : 1
            let exponent = Int((bits >> 10) & 0x1F)
            let mantissa = Double(bits & 0x3FF)
            let converted = HalfFloat.f16ToFloat(bits)
            if exponent == 0x1F {
                if mantissa == 0 ? converted != Float(sign * .infinity) : !converted.isNaN { mismatches.append(bits) }
                continue
            }
            let expected = exponent == 0
                ? sign * mantissa * pow(2, -24)
                : sign * (1 + mantissa / 1024) * pow(2, Double(exponent - 15))
            if Double(converted) != expected || converted.sign != (sign < 0 ? .minus : .plus) { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatching bit patterns: \(mismatches.prefix(5).map { String($0, radix: 16) })")
    }

    @Test func bf16IsTheTopHalfOfAFloat() {
        for bits: UInt16 in [0x0000, 0x3F80, 0xC040, 0x7F80, 0x0001, 0x8000] {
            #expect(HalfFloat.bf16ToFloat(bits).bitPattern == UInt32(bits) << 16)
        }
        #expect(HalfFloat.bf16ToFloat(0x3F80) == 1)
        #expect(HalfFloat.bf16ToFloat(0xC040) == -3)
    }
}
