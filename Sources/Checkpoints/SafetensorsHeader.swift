/// The parsed and validated header of a safetensors file.
///
/// Format (https://github.com/huggingface/safetensors): an unsigned 64-bit little-endian header length
/// `n`, `n` bytes of UTF-8 JSON, then the data section. The JSON is an object mapping each tensor key to
/// `{"dtype": …, "shape": […], "data_offsets": [begin, end]}` (offsets relative to the data section),
/// plus an optional `"__metadata__"` object of string values.
struct SafetensorsHeader: Sendable {
    /// Largest header accepted, in bytes (the reference implementation uses the same bound).
    static let maximumLength = 100_000_000

    var metadata: [String: String]
    /// Entries in header order.
    var tensors: [TensorInfo]
    /// Offset of the data section from the start of the file.
    var dataStart: Int

    /// Parses and validates the header of `file`, checking every entry against the file's size.
    ///
    /// - Throws: `CheckpointError` naming `path` and, for a bad entry, its key.
    init(file: UnsafeRawBufferPointer, path: String) throws(CheckpointError) {
        func fail(_ code: CheckpointError.Code, _ message: String, key: String? = nil) -> CheckpointError {
            CheckpointError(code, message, path: path, key: key)
        }
        guard file.count >= 8 else {
            throw fail(.truncatedFile, "file has \(file.count) bytes; a safetensors file starts with an 8-byte header length")
        }
        let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(Self.maximumLength) else {
            throw fail(.headerTooLarge, "header length \(declared) exceeds the limit of \(Self.maximumLength) bytes")
        }
        let headerLength = Int(declared)
        guard headerLength <= file.count - 8 else {
            throw fail(.headerOutOfBounds, "header length \(headerLength) runs past the end of the file (\(file.count) bytes; truncated?)")
        }
        dataStart = 8 + headerLength
        let dataSize = file.count - dataStart
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<dataStart]).assumingMemoryBound(to: UInt8.self)
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw fail(.headerNotUTF8, "header is not valid UTF-8")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(headerBytes)
        } catch {
            throw fail(.headerNotJSON, "header is not valid JSON: \(error.message) at byte \(error.offset) of the header")
        }
        guard case let .object(members) = json else {
            throw fail(.invalidHeader, "header is a JSON \(json.kind), not an object")
        }

        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(members.count)
        for (key, value) in members {
            if key == "__metadata__" {
                guard case let .object(entries) = value else {
                    throw fail(.invalidHeader, "__metadata__ is a \(value.kind), not an object of strings", key: key)
                }
                for (name, entry) in entries {
                    guard case let .string(text) = entry else {
                        throw fail(.invalidHeader, "__metadata__ value '\(name)' is a \(entry.kind), not a string", key: key)
                    }
                    metadata[name] = text
                }
                continue
            }
            tensors.append(try Self.entry(key: key, value: value, dataSize: dataSize, fail: fail))
        }
        try Self.checkNoOverlap(tensors, fail: fail)
        self.metadata = metadata
        self.tensors = tensors
    }

    private static func entry(
        key: String, value: JSONValue, dataSize: Int,
        fail: (CheckpointError.Code, String, String?) -> CheckpointError
    ) throws(CheckpointError) -> TensorInfo {
        guard case let .object(fields) = value else {
            throw fail(.invalidHeader, "entry is a \(value.kind), not an object", key)
        }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (name, field) in fields {
            switch name {
            case "dtype": dtypeValue = field
            case "shape": shapeValue = field
            case "data_offsets": offsetsValue = field
            default: throw fail(.invalidHeader, "entry has an unknown field '\(name)'", key)
            }
        }
        guard case let .string(dtypeName) = dtypeValue else {
            throw fail(.invalidHeader, "entry needs a string 'dtype'", key)
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw fail(.unknownDType, "unknown dtype '\(dtypeName)'", key)
        }
        guard case let .array(dims) = shapeValue else {
            throw fail(.invalidHeader, "entry needs an array 'shape'", key)
        }
        var shape: [Int] = []
        var elements = 1
        for dim in dims {
            guard let n = dim.intValue, n >= 0 else {
                throw fail(.invalidShape, "shape dimension \(Self.literal(dim)) is not a non-negative integer", key)
            }
            shape.append(n)
            let (product, overflow) = elements.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail(.invalidShape, "shape \(shape)… has too many elements", key) }
            elements = product
        }
        let (expectedBytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw fail(.invalidShape, "shape \(shape) of \(dtypeName) has too many bytes", key) }

        guard case let .array(offsets) = offsetsValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= 0
        else {
            throw fail(.invalidOffsets, "entry needs 'data_offsets' [begin, end] of two non-negative integers", key)
        }
        guard begin <= end else {
            throw fail(.invalidOffsets, "data_offsets [\(begin), \(end)] begin after end", key)
        }
        guard end <= dataSize else {
            throw fail(.dataOutOfBounds, "data_offsets [\(begin), \(end)] run past the data section of \(dataSize) bytes (truncated file?)", key)
        }
        guard end - begin == expectedBytes else {
            throw fail(.byteLengthMismatch, "data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(expectedBytes)", key)
        }
        return TensorInfo(name: key, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    private static func checkNoOverlap(
        _ tensors: [TensorInfo], fail: (CheckpointError.Code, String, String?) -> CheckpointError
    ) throws(CheckpointError) {
        let sorted = tensors.filter { !$0.dataOffsets.isEmpty }.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.dataOffsets.lowerBound < a.dataOffsets.upperBound {
            throw fail(.overlappingTensors, "data [\(b.dataOffsets.lowerBound), \(b.dataOffsets.upperBound)) overlaps tensor '\(a.name)' at [\(a.dataOffsets.lowerBound), \(a.dataOffsets.upperBound))", b.name)
        }
    }

    private static func literal(_ value: JSONValue) -> String {
        switch value {
        case let .number(text): text
        case let .string(text): "\"\(text)\""
        default: value.kind
        }
    }
}
