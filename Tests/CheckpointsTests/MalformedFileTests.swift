import Foundation
import Testing
@testable import Checkpoints

/// Each malformed or truncated file is refused with its own error code, naming the file and (for a bad
/// entry) the key — never a crash.
@Suite struct MalformedFileTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var code: CheckpointError.Code
        var key: String?
        var write: @Sendable (URL) throws -> Void
        var testDescription: String { name }
    }

    static func entry(_ dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]", extra: String = "") -> String {
        "{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)\(extra)}"
    }

    static let cases: [Case] = [
        Case(name: "empty file", code: .truncatedFile) { try Data().write(to: $0) },
        Case(name: "shorter than the length prefix", code: .truncatedFile) { try Data([1, 0, 0, 0]).write(to: $0) },
        Case(name: "header length past EOF", code: .headerOutOfBounds) {
            try TestSafetensors.writeRaw(length: 4096, header: Array("{}".utf8), to: $0)
        },
        Case(name: "huge header length", code: .headerTooLarge) {
            try TestSafetensors.writeRaw(length: 1 << 40, header: Array("{}".utf8), to: $0)
        },
        Case(name: "header just over 100 MB", code: .headerTooLarge) {
            try TestSafetensors.writeRaw(length: 100_000_001, header: Array("{}".utf8), to: $0)
        },
        Case(name: "maximum UInt64 header length", code: .headerTooLarge) {
            try TestSafetensors.writeRaw(length: .max, header: [], to: $0)
        },
        Case(name: "non-UTF-8 header", code: .headerNotUTF8) {
            try TestSafetensors.writeRaw(length: 4, header: [0x7B, 0xFF, 0xFE, 0x7D], to: $0)
        },
        Case(name: "non-JSON header", code: .headerNotJSON) { try TestSafetensors.writeHeader("not json at all", dataBytes: 0, to: $0) },
        Case(name: "unterminated JSON", code: .headerNotJSON) { try TestSafetensors.writeHeader("{\"a\":{\"dtype\":", dataBytes: 0, to: $0) },
        Case(name: "header is an array", code: .invalidHeader) { try TestSafetensors.writeHeader("[1,2]", dataBytes: 0, to: $0) },
        Case(name: "entry is not an object", code: .invalidHeader, key: "w") { try TestSafetensors.writeHeader(#"{"w":3}"#, dataBytes: 0, to: $0) },
        Case(name: "entry lacks dtype", code: .invalidHeader, key: "w") {
            try TestSafetensors.writeHeader(#"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8, to: $0)
        },
        Case(name: "entry has an unknown field", code: .invalidHeader, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(extra: ",\"x\":1"))}", dataBytes: 8, to: $0)
        },
        Case(name: "metadata value not a string", code: .invalidHeader, key: "__metadata__") {
            try TestSafetensors.writeHeader(#"{"__metadata__":{"n":1}}"#, dataBytes: 0, to: $0)
        },
        Case(name: "bad dtype", code: .unknownDType, key: "w") { try TestSafetensors.writeHeader("{\"w\":\(entry("F17"))}", dataBytes: 8, to: $0) },
        Case(name: "negative dimension", code: .invalidShape, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(shape: "[-2]"))}", dataBytes: 8, to: $0)
        },
        Case(name: "fractional dimension", code: .invalidShape, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(shape: "[2.0]"))}", dataBytes: 8, to: $0)
        },
        Case(name: "element count overflows", code: .invalidShape, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(shape: "[4294967296,4294967296]"))}", dataBytes: 8, to: $0)
        },
        Case(name: "byte count overflows", code: .invalidShape, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry("F64", shape: "[4611686018427387904]"))}", dataBytes: 8, to: $0)
        },
        Case(name: "offsets begin after end", code: .invalidOffsets, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(offsets: "[8,0]"))}", dataBytes: 8, to: $0)
        },
        Case(name: "offsets not two integers", code: .invalidOffsets, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(offsets: "[0]"))}", dataBytes: 8, to: $0)
        },
        Case(name: "offsets past the data section", code: .dataOutOfBounds, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(offsets: "[8,16]"))}", dataBytes: 8, to: $0)
        },
        Case(name: "truncated data", code: .dataOutOfBounds, key: "b") {
            let full = try Data(contentsOf: TestSafetensors.write([
                .init(name: "a", dtype: "F32", shape: [4], data: [Float](repeating: 1, count: 4).f32Bytes),
                .init(name: "b", dtype: "F32", shape: [4], data: [Float](repeating: 2, count: 4).f32Bytes),
            ], to: $0))
            try full.prefix(full.count - 3).write(to: $0)
        },
        Case(name: "wrong byte length", code: .byteLengthMismatch, key: "w") {
            try TestSafetensors.writeHeader("{\"w\":\(entry(shape: "[3]", offsets: "[0,8]"))}", dataBytes: 12, to: $0)
        },
        Case(name: "overlapping tensors", code: .overlappingTensors, key: "b") {
            try TestSafetensors.writeHeader(
                "{\"a\":\(entry(shape: "[2]", offsets: "[0,8]")),\"b\":\(entry(shape: "[2]", offsets: "[4,12]"))}", dataBytes: 12, to: $0)
        },
        Case(name: "duplicate key", code: .headerNotJSON) {
            try TestSafetensors.writeHeader("{\"w\":\(entry()),\"w\":\(entry())}", dataBytes: 8, to: $0)
        },
    ]

    @Test(arguments: cases)
    func refusedWithItsOwnError(_ testCase: Case) throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.safetensors")
        try testCase.write(url)
        do {
            let file = try SafetensorsFile(path: url.path)
            Issue.record("accepted a malformed file with \(file.tensors.count) tensors")
        } catch {
            #expect(error.code == testCase.code, "\(error)")
            #expect(error.path == url.path)
            #expect(error.key == testCase.key, "\(error)")
            #expect(error.description.contains("bad.safetensors"))
            if let key = testCase.key { #expect(error.description.contains("'\(key)'")) }
        }
    }

    @Test func zeroLengthTensorsMayShareAnOffset() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try TestSafetensors.writeHeader(
            "{\"a\":\(Self.entry(shape: "[0]", offsets: "[0,0]")),\"b\":\(Self.entry(shape: "[2]", offsets: "[0,8]")),\"c\":\(Self.entry(shape: "[0,5]", offsets: "[0,0]"))}",
            dataBytes: 8, to: dir.appendingPathComponent("ok.safetensors"))
        #expect(try SafetensorsFile(path: url.path).tensors.count == 3)
    }

    @Test func missingFileAndDirectoryAreIOErrors() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for path in [dir.appendingPathComponent("absent.safetensors").path, dir.path] {
            #expect { try SafetensorsFile(path: path) } throws: { error in
                (error as? CheckpointError)?.code == .ioError && (error as? CheckpointError)?.path == path
            }
        }
    }
}
