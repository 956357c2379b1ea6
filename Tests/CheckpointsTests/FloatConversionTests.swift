import Foundation
import Testing
import TensorCore
@testable import Checkpoints

@Suite struct FloatConversionTests {
    static let halfValues: [(UInt16, Float)] = [
        (0x3C00, 1), (0xC000, -2), (0x3555, 0.333251953125), (0x7BFF, 65504),
        (0x0400, 6.103515625e-05), (0x0001, 5.9604644775390625e-08), (0x03FF, 6.097555160522461e-05),
        (0x8001, -5.9604644775390625e-08), (0x0000, 0), (0x7C00, .infinity), (0xFC00, -.infinity),
    ]

    @Test(arguments: halfValues)
    func halfKnownValues(bits: UInt16, expected: Float) {
        #expect(FloatConversion.float(fromHalfBits: bits) == expected)
    }

    @Test func halfSignedZeroAndNaN() {
        #expect(FloatConversion.float(fromHalfBits: 0x8000).bitPattern == 0x8000_0000)
        let nan = FloatConversion.float(fromHalfBits: 0x7E01)
        #expect(nan.isNaN)
        #expect(nan.bitPattern == 0x7FC0_2000)  // quiet bit and payload kept, shifted by 13
    }

    #if !(os(macOS) && arch(x86_64))
    /// Every one of the 65,536 half patterns against Swift's `Float16` (available on x86-64 Linux).
    @Test func halfMatchesFloat16Exhaustively() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let ours = FloatConversion.float(fromHalfBits: bits)
            let swift = Float(Float16(bitPattern: bits))
            if ours.isNaN ? !swift.isNaN : ours.bitPattern != swift.bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
    #endif

    static let bfloat16Values: [(UInt16, Float)] = [
        (0x3F80, 1), (0xC000, -2), (0x3EAB, 0.333984375), (0x7F7F, 3.3895313892515355e38),
        (0x0001, Float(bitPattern: 0x0001_0000)), (0x7F80, .infinity), (0xFF80, -.infinity), (0x0000, 0),
    ]

    @Test(arguments: bfloat16Values)
    func bfloat16KnownValues(bits: UInt16, expected: Float) {
        #expect(FloatConversion.float(fromBFloat16Bits: bits) == expected)
    }

    @Test func fileTensorsConvertToFloatAndTensor() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f32: [Float] = [1.5, -0.25, .pi, 1e-30, -65504, 0]
        let url = try TestSafetensors.write([
            .init(name: "a.f32", dtype: "F32", shape: [2, 3], data: f32.f32Bytes),
            .init(name: "b.f16", dtype: "F16", shape: [4], data: [UInt16(0x3C00), 0xC000, 0x3555, 0x0001].bytes),
            .init(name: "c.bf16", dtype: "BF16", shape: [1, 3], data: [UInt16(0x3F80), 0xC000, 0x3EAB].bytes),
            .init(name: "d.i64", dtype: "I64", shape: [2], data: [UInt8](repeating: 1, count: 16)),
        ], to: dir.appendingPathComponent("mixed.safetensors"))
        let file = try SafetensorsFile(path: url.path)
        #expect(try file.floats("a.f32") == f32)
        #expect(try file.floats("b.f16") == [1, -2, 0.333251953125, 5.9604644775390625e-08])
        #expect(try file.tensor("c.bf16") == Tensor(shape: [1, 3], scalars: [1, -2, 0.333984375]))
        #expect(try file.tensor("a.f32").shape == [2, 3])
        #expect(throws: CheckpointError.self) { try file.floats("d.i64") }
        do {
            _ = try file.floats("d.i64")
        } catch {
            #expect(error.code == .unsupportedConversion && error.key == "d.i64" && error.path == url.path)
        }
    }
}
