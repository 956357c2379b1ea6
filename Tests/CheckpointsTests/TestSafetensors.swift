import Foundation

/// Writes safetensors files by hand for tests: valid ones from entries, or any header bytes at all.
enum TestSafetensors {
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        /// The tensor's bytes; nil = zeros of the right length (sparse when `sparse` writing is used).
        var data: [UInt8]?
    }

    /// A fresh temporary directory for one test.
    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-checkpoints-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func byteSize(_ dtype: String) -> Int {
        switch dtype {
        case "F64", "I64", "U64": 8
        case "F32", "I32", "U32": 4
        case "F16", "BF16", "I16", "U16": 2
        default: 1
        }
    }

    /// The header JSON for `entries` laid out back to back in order, with `metadata`.
    static func header(_ entries: [Entry], metadata: [String: String] = [:]) -> String {
        var parts: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(quote($0.value))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for e in entries {
            let length = e.shape.reduce(1, *) * byteSize(e.dtype)
            parts.append("\(quote(e.name)):{\"dtype\":\(quote(e.dtype)),\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + length)]}")
            offset += length
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// Writes a valid file; tensors without data are zero-filled by extending the file (sparse, so
    /// full-size layouts cost no disk).
    @discardableResult
    static func write(_ entries: [Entry], metadata: [String: String] = [:], to url: URL) throws -> URL {
        var header = Array(header(entries, metadata: metadata).utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        let handle = try create(url)
        defer { try? handle.close() }
        try handle.write(contentsOf: lengthPrefix(UInt64(header.count)) + header)
        var offset = 8 + header.count
        for e in entries {
            let length = e.shape.reduce(1, *) * byteSize(e.dtype)
            offset += length
            if let data = e.data {
                precondition(data.count == length, "\(e.name): \(data.count) bytes for \(length)")
                try handle.write(contentsOf: data)
            } else {
                try handle.truncate(atOffset: UInt64(offset))
                try handle.seek(toOffset: UInt64(offset))
            }
        }
        return url
    }

    /// Writes `prefix` (normally a length), `header` and `data` verbatim.
    @discardableResult
    static func writeRaw(length: UInt64, header: [UInt8], data: [UInt8] = [], to url: URL) throws -> URL {
        try Data(lengthPrefix(length) + header + data).write(to: url)
        return url
    }

    /// Writes a file whose header is `json` (its true length) followed by `dataBytes` zero bytes.
    @discardableResult
    static func writeHeader(_ json: String, dataBytes: Int, to url: URL) throws -> URL {
        let header = Array(json.utf8)
        return try writeRaw(length: UInt64(header.count), header: header, data: [UInt8](repeating: 0, count: dataBytes), to: url)
    }

    static func lengthPrefix(_ n: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) }
    }

    private static func create(_ url: URL) throws -> FileHandle {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return try FileHandle(forWritingTo: url)
    }

    private static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

extension Array where Element == Float {
    /// Little-endian F32 bytes.
    var f32Bytes: [UInt8] { flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32($0))) } } }
}

extension Array where Element == UInt16 {
    /// Little-endian bytes of 16-bit patterns (F16 / BF16).
    var bytes: [UInt8] { flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] } }
}
