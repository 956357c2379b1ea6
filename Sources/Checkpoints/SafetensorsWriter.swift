#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorCore

/// Builds a safetensors file in memory and writes it atomically.
///
/// Layout (https://github.com/huggingface/safetensors): an unsigned 64-bit little-endian header
/// length `n`, `n` bytes of UTF-8 JSON, then the data section. The JSON holds an optional
/// `"__metadata__"` object of strings first, then one `{"dtype", "shape", "data_offsets"}` entry per
/// tensor. The header is padded with spaces to a multiple of 8 bytes, as the format allows, so the
/// data section starts 8-byte aligned. Tensors are laid out by decreasing element size, then by name
/// (the reference writer's order), which keeps every tensor aligned to its element size.
///
/// `SafetensorsFile` reads what this writes.
public struct SafetensorsWriter: Sendable {
    /// One tensor to write: its raw little-endian bytes.
    public struct Entry: Sendable {
        public var name: String
        public var dtype: SafetensorsDType
        public var shape: [Int]
        public var bytes: [UInt8]
    }

    /// The `__metadata__` string map; `nil` writes no `__metadata__` key at all.
    public var metadata: [String: String]?
    /// The tensors added so far, in the order they were added.
    public private(set) var entries: [Entry] = []

    /// - Parameter metadata: the `__metadata__` map, or `nil` for none.
    public init(metadata: [String: String]? = nil) {
        self.metadata = metadata
    }

    /// Adds a tensor from raw little-endian bytes.
    ///
    /// - Throws: `CheckpointError` `.invalidHeader` for an empty, reserved or repeated name,
    ///   `.invalidShape` for a negative or overflowing shape, `.byteLengthMismatch` when `bytes` is not
    ///   product(shape) × the dtype's size.
    public mutating func add(_ name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) throws(CheckpointError) {
        guard !name.isEmpty, name != "__metadata__" else {
            throw CheckpointError(.invalidHeader, "a tensor cannot be named '\(name)'", key: name)
        }
        guard !entries.contains(where: { $0.name == name }) else {
            throw CheckpointError(.invalidHeader, "the tensor was added twice", key: name)
        }
        var elements = 1
        for dim in shape {
            guard dim >= 0 else { throw CheckpointError(.invalidShape, "shape \(shape) has a negative dimension", key: name) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw CheckpointError(.invalidShape, "shape \(shape) has too many elements", key: name) }
            elements = product
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, expected == bytes.count else {
            throw CheckpointError(.byteLengthMismatch,
                                  "\(bytes.count) bytes given but shape \(shape) of \(dtype.rawValue) needs \(expected)", key: name)
        }
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds float32 values with `shape`.
    ///
    /// - Throws: `CheckpointError` as ``add(_:dtype:shape:bytes:)``.
    public mutating func add(_ name: String, floats: [Float], shape: [Int]) throws(CheckpointError) {
        let bytes = floats.withUnsafeBytes { [UInt8]($0) }
        try add(name, dtype: .f32, shape: shape, bytes: bytes)
    }

    /// Adds a tensor in its own dtype, written dense in row-major order (a copy of its elements).
    ///
    /// - Throws: `CheckpointError` as ``add(_:dtype:shape:bytes:)``.
    public mutating func add(_ name: String, tensor: Tensor) throws(CheckpointError) {
        let dense = tensor.contiguous()
        let byteCount = dense.count * dense.dtype.byteSize
        let bytes = byteCount == 0 ? [] : [UInt8](UnsafeRawBufferPointer(start: dense.baseAddress, count: byteCount))
        try add(name, dtype: Self.fileDType(tensor.dtype), shape: tensor.shape, bytes: bytes)
    }

    /// The safetensors dtype that stores an engine dtype.
    public static func fileDType(_ dtype: DType) -> SafetensorsDType {
        switch dtype {
        case .float32: .f32
        case .float16: .f16
        case .bfloat16: .bf16
        case .int64: .i64
        case .uint8: .u8
        }
    }

    /// The entries in data-section order: larger elements first, then by name.
    private var layout: [Entry] {
        entries.sorted { a, b in
            a.dtype.byteSize != b.dtype.byteSize ? a.dtype.byteSize > b.dtype.byteSize
                : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// The header JSON (padded with spaces to a multiple of 8 bytes) for `ordered` entries.
    private func header(_ ordered: [Entry]) -> [UInt8] {
        var json = "{"
        var first = true
        func member(_ key: String, _ value: String) {
            if !first { json += "," }
            first = false
            json += Self.quoted(key) + ":" + value
        }
        if let metadata {
            let fields = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { Self.quoted($0) + ":" + Self.quoted(metadata[$0]!) }
            member("__metadata__", "{" + fields.joined(separator: ",") + "}")
        }
        var offset = 0
        for entry in ordered {
            let end = offset + entry.bytes.count
            let shape = entry.shape.map(String.init).joined(separator: ",")
            member(entry.name, "{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        json += "}"
        var bytes = Array(json.utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    /// The whole file's bytes.
    public func serialized() -> [UInt8] {
        let ordered = layout
        let header = header(ordered)
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + ordered.reduce(0) { $0 + $1.bytes.count })
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for entry in ordered { out.append(contentsOf: entry.bytes) }
        return out
    }

    /// Writes the file to `path`: into a temporary file in the same directory, flushed to disk, then
    /// renamed over `path`, so readers never see a partial file under the final name.
    ///
    /// - Throws: `CheckpointError` `.ioError` naming `path` when the file cannot be created, written
    ///   or renamed (the temporary file is removed).
    public func write(to path: String) throws(CheckpointError) {
        let bytes = serialized()
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
        let directory = slash.map { String(path[..<$0]) + "/" } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = directory + "." + base + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CheckpointError(.ioError, "cannot create a temporary file to write", path: path, cause: Self.errnoText())
        }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write the file"
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot flush the file to disk" }
        let cause = failure == nil ? nil : Self.errnoText()
        if close(fd) != 0, failure == nil { failure = "cannot close the file" }
        if failure == nil, rename(temporary, path) != 0 { failure = "cannot rename the temporary file into place" }
        if let failure {
            let cause = cause ?? Self.errnoText()
            unlink(temporary)
            throw CheckpointError(.ioError, failure, path: path, cause: cause)
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; other text as UTF-8.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func errnoText() -> String {
        let code = errno
        return "errno \(code): " + String(cString: strerror(code))
    }
}

/// `write(2)`, named apart from ``SafetensorsWriter/write(to:)``.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
