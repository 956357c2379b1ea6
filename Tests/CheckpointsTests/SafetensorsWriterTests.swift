import Checkpoints
import Foundation
import TensorCore
import Testing

/// The safetensors writer: layout, header form, metadata, validation of entries, atomic writes, and
/// round trips through `SafetensorsFile`.
struct SafetensorsWriterTests {
    /// The header JSON of `bytes`, parsed by Foundation (a parser independent of the reader).
    static func headerObject(_ bytes: [UInt8]) throws -> (length: Int, object: [String: Any]) {
        let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let json = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)]))
        return (length, try #require(json as? [String: Any]))
    }

    /// A JSON array of integers from `JSONSerialization`.
    static func ints(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        let ints = array.compactMap { ($0 as? NSNumber)?.intValue }
        return ints.count == array.count ? ints : nil
    }

    @Test func roundTripThroughReader() throws {
        let floats: [Float] = [1.5, -0.0, .infinity, 3.25e-8, .nan, -7, 0.1, 42]
        let halves: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B]  // F16 1, -2, 65504
        let ints: [Int64] = [-1, 1 << 40]
        var writer = SafetensorsWriter(metadata: ["format": "pt", "prompt": "{\"a\": 1}"])
        try writer.add("z.weight", floats: floats, shape: [2, 4])
        try writer.add("a.half", dtype: .f16, shape: [3], bytes: halves)
        try writer.add("ids", tensor: Tensor(shape: [2], int64s: ints))
        try writer.add("empty", floats: [], shape: [0])

        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.safetensors").path
        try writer.write(to: path)

        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == ["format": "pt", "prompt": "{\"a\": 1}"])
        #expect(Set(file.names) == ["z.weight", "a.half", "ids", "empty"])
        #expect(file.dataStart % 8 == 0)
        #expect(file["z.weight"]?.dtype == .f32 && file["z.weight"]?.shape == [2, 4])
        #expect(file["a.half"]?.dtype == .f16 && file["a.half"]?.shape == [3])
        #expect(file["ids"]?.dtype == .i64 && file["ids"]?.shape == [2])
        #expect(file["empty"]?.shape == [0] && file["empty"]?.byteCount == 0)

        let readFloats = try file.floats("z.weight")
        let sameBits = readFloats.count == floats.count && zip(readFloats, floats).allSatisfy { $0.bitPattern == $1.bitPattern }
        #expect(sameBits)
        #expect(try file.bytes("a.half").withUnsafeBytes { Array($0) } == halves)
        let readInts = try file.bytes("ids").withUnsafeBytes { raw in (0..<2).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
        #expect(readInts == ints)
        #expect(try file.floats("a.half") == [1, -2, 65504])
    }

    @Test func headerIsPaddedAlignedAndOrderedLikeTheReferenceWriter() throws {
        var writer = SafetensorsWriter()
        try writer.add("b", dtype: .u8, shape: [3], bytes: [1, 2, 3])
        try writer.add("c", floats: [1], shape: [1])
        try writer.add("a", floats: [2, 3], shape: [2])
        let bytes = writer.serialized()
        let (length, header) = try Self.headerObject(bytes)
        #expect(length % 8 == 0)
        #expect(bytes.count == 8 + length + 4 + 8 + 3)
        let text = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        #expect(text.hasPrefix("{"))
        let close = try #require(text.lastIndex(of: "}"))
        #expect(text[text.index(after: close)...].allSatisfy { $0 == " " })
        #expect(header["__metadata__"] == nil)
        // Larger elements first, then by name: a (f32) at 0, c (f32) at 8, b (u8) at 12.
        func offsets(_ key: String) -> [Int]? { Self.ints((header[key] as? [String: Any])?["data_offsets"]) }
        #expect(offsets("a") == [0, 8])
        #expect(offsets("c") == [8, 12])
        #expect(offsets("b") == [12, 15])
        #expect((header["b"] as? [String: Any])?["dtype"] as? String == "U8")
        #expect(Self.ints((header["a"] as? [String: Any])?["shape"]) == [2])
        #expect(Array(bytes.suffix(3)) == [1, 2, 3])
    }

    @Test func metadataStringsAreEscaped() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} é 🧶 </script>"
        var writer = SafetensorsWriter(metadata: [tricky: tricky, "empty": ""])
        try writer.add("x", floats: [0], shape: [])
        let (_, header) = try Self.headerObject(writer.serialized())
        let metadata = try #require(header["__metadata__"] as? [String: String])
        #expect(metadata == [tricky: tricky, "empty": ""])

        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        try writer.write(to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == [tricky: tricky, "empty": ""])
        #expect(file["x"]?.shape == [])
    }

    @Test func emptyMetadataMapIsWrittenButNilIsNot() throws {
        var withMap = SafetensorsWriter(metadata: [:])
        try withMap.add("x", floats: [1], shape: [1])
        #expect(try Self.headerObject(withMap.serialized()).object["__metadata__"] as? [String: String] == [:])
        var without = SafetensorsWriter()
        try without.add("x", floats: [1], shape: [1])
        #expect(try Self.headerObject(without.serialized()).object["__metadata__"] == nil)
    }

    @Test func badEntriesAreRefused() throws {
        var writer = SafetensorsWriter()
        #expect(throws: CheckpointError.self) { try writer.add("x", dtype: .f32, shape: [2], bytes: [0, 0, 0, 0]) }
        #expect(throws: CheckpointError.self) { try writer.add("x", dtype: .f32, shape: [-1], bytes: []) }
        #expect(throws: CheckpointError.self) { try writer.add("__metadata__", floats: [1], shape: [1]) }
        #expect(throws: CheckpointError.self) { try writer.add("", floats: [1], shape: [1]) }
        try writer.add("x", floats: [1], shape: [1])
        #expect(throws: CheckpointError.self) { try writer.add("x", floats: [2], shape: [1]) }
        do {
            try writer.add("y", dtype: .f16, shape: [3], bytes: [0, 0])
            Issue.record("a short buffer was accepted")
        } catch {
            #expect(error.code == .byteLengthMismatch && error.key == "y")
        }
        #expect(writer.entries.map(\.name) == ["x"])
    }

    @Test func writeReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("r.safetensors").path
        try Data("old contents".utf8).write(to: URL(fileURLWithPath: path))
        var writer = SafetensorsWriter()
        try writer.add("v", floats: [4, 5, 6], shape: [3])
        try writer.write(to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["r.safetensors"])
        #expect(try SafetensorsFile(path: path).floats("v") == [4, 5, 6])
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == writer.serialized())
    }

    @Test func writeIntoAMissingDirectoryIsAnIOError() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var writer = SafetensorsWriter()
        try writer.add("v", floats: [1], shape: [1])
        do {
            try writer.write(to: dir.appendingPathComponent("missing/x.safetensors").path)
            Issue.record("writing into a missing directory succeeded")
        } catch {
            #expect(error.code == .ioError)
        }
    }

    @Test func tensorViewsAreWrittenDense() throws {
        let base = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        let transposed = base.permuted([1, 0])
        var writer = SafetensorsWriter()
        try writer.add("t", tensor: transposed)
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v.safetensors").path
        try writer.write(to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file["t"]?.shape == [3, 2])
        #expect(try file.floats("t") == [0, 3, 1, 4, 2, 5])
    }
}
