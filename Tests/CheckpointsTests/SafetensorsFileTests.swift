import Foundation
import Testing
@testable import Checkpoints

@Suite struct SafetensorsFileTests {
    @Test func readsEntriesMetadataAndBytesWithoutCopying() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values: [Float] = [1, 2, 3, 4]
        let url = try TestSafetensors.write([
            .init(name: "weight", dtype: "F32", shape: [2, 2], data: values.f32Bytes),
            .init(name: "scalar", dtype: "F32", shape: [], data: [Float(7)].f32Bytes),
            .init(name: "empty", dtype: "F16", shape: [0, 3], data: []),
            .init(name: "flags", dtype: "BOOL", shape: [3], data: [1, 0, 1]),
            .init(name: "fp8", dtype: "F8_E4M3", shape: [2], data: [0x38, 0xB8]),
            .init(name: "ints", dtype: "I32", shape: [1], data: [5, 0, 0, 0]),
        ], metadata: ["format": "pt", "note": "ünïcode \"quoted\""], to: dir.appendingPathComponent("a.safetensors"))

        let file = try SafetensorsFile(path: url.path)
        #expect(file.names == ["weight", "scalar", "empty", "flags", "fp8", "ints"])
        #expect(file.metadata == ["format": "pt", "note": "ünïcode \"quoted\""])
        #expect(file["weight"]?.shape == [2, 2])
        #expect(file["scalar"]?.elementCount == 1)
        #expect(file["empty"]?.byteCount == 0)
        #expect(file["fp8"]?.dtype == .f8e4m3)
        #expect(file.shapes["flags"] == [3])
        #expect(try file.floats("scalar") == [7])
        #expect(try file.floats("empty") == [])

        let bytes = try file.bytes("weight")
        let mapped = file.mapping.bytes
        bytes.withUnsafeBytes { raw in
            #expect(raw.count == 16)
            #expect(raw.baseAddress == mapped.baseAddress! + file.dataStart)  // points into the mapping
        }
        #expect(throws: CheckpointError.self) { try file.bytes("nope") }
    }

    @Test func bytesOutliveTheFileValue() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try TestSafetensors.write(
            [.init(name: "x", dtype: "F32", shape: [3], data: [Float(1), 2, 3].f32Bytes)],
            to: dir.appendingPathComponent("b.safetensors"))
        let bytes = try SafetensorsFile(path: url.path).bytes("x")  // the file value is gone; the mapping is not
        #expect(try bytes.floats() == [1, 2, 3])
    }

    @Test func everyListedDTypeIsRecognised() {
        for name in ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2"] {
            #expect(SafetensorsDType(rawValue: name) != nil, "\(name)")
        }
        #expect(SafetensorsDType.bf16.byteSize == 2 && SafetensorsDType.f8e5m2.byteSize == 1 && SafetensorsDType.i64.byteSize == 8)
    }

    @Test func jsonParserHandlesEscapesAndRejectsDuplicates() throws {
        func parse(_ text: String) throws -> JSONValue {
            var text = text
            return try text.withUTF8 { buffer throws(JSONParser.Failure) in try JSONParser.parse(buffer) }
        }
        #expect(try parse(#" {"a\u00e9\ud83d\ude00\n": [1, -2.5e3, true, null]} "#)
            == .object([("a\u{e9}\u{1F600}\n", .array([.number("1"), .number("-2.5e3"), .bool(true), .null]))]))
        #expect(try parse("18446744073709551615") == .number("18446744073709551615"))
        for bad in [#"{"a":1,"a":2}"#, "[1,]", "01", "{\"a\" 1}", "\"\u{01}\"", #""\ud800""#, "[1] x", String(repeating: "[", count: 100)] {
            #expect(throws: JSONParser.Failure.self, "\(bad)") { try parse(bad) }
        }
    }
}
