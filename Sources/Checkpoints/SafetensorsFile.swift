/// A safetensors file, memory-mapped and validated, giving zero-copy access to its tensors.
///
/// Opening maps the file and checks the whole header (see `SafetensorsHeader`); no tensor data is read
/// until asked for. Copies of this value share the one mapping, which lives until the last copy — and
/// the last `TensorBytes` taken from it — is gone.
public struct SafetensorsFile: Sendable {
    /// The file's path as given to `init`.
    public var path: String { mapping.path }
    /// The `__metadata__` string map (empty when the file has none).
    public let metadata: [String: String]
    /// Every tensor entry, in header order.
    public let tensors: [TensorInfo]
    /// The mapping the tensors' bytes live in.
    public let mapping: MappedFile
    /// Offset of the data section from the start of the file.
    public let dataStart: Int
    private let indexByName: [String: Int]

    /// Maps and validates the safetensors file at `path`.
    ///
    /// - Throws: `CheckpointError` naming the file (and the key, for a bad entry) when the file cannot be
    ///   read or is malformed or truncated.
    public init(path: String) throws(CheckpointError) {
        let mapping = try MappedFile(path: path)
        let header = try SafetensorsHeader(file: mapping.bytes, path: path)
        self.mapping = mapping
        self.metadata = header.metadata
        self.tensors = header.tensors
        self.dataStart = header.dataStart
        var index: [String: Int] = [:]
        index.reserveCapacity(header.tensors.count)
        for (i, info) in header.tensors.enumerated() { index[info.name] = i }
        self.indexByName = index
    }

    /// Tensor keys in header order.
    public var names: [String] { tensors.map(\.name) }

    /// Key → shape of every tensor; what model detection works from.
    public var shapes: [String: [Int]] {
        Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.shape) })
    }

    /// The entry for `name`, or nil.
    public subscript(name: String) -> TensorInfo? {
        indexByName[name].map { tensors[$0] }
    }

    /// The entry for `name`.
    ///
    /// - Throws: `CheckpointError` `.missingTensor` when the file has no such key.
    public func info(_ name: String) throws(CheckpointError) -> TensorInfo {
        guard let info = self[name] else {
            throw CheckpointError(.missingTensor, "no such tensor in the file", path: path, key: name)
        }
        return info
    }

    /// The raw little-endian bytes of tensor `name`, pointing into the mapping (no copy).
    ///
    /// - Throws: `CheckpointError` `.missingTensor` when the file has no such key.
    public func bytes(_ name: String) throws(CheckpointError) -> TensorBytes {
        let info = try info(name)
        return TensorBytes(info: info, mapping: mapping, fileOffset: dataStart + info.dataOffsets.lowerBound)
    }
}

/// The bytes of one tensor inside a `MappedFile`, keeping the mapping alive.
public struct TensorBytes: Sendable {
    public let info: TensorInfo
    /// The mapping the bytes live in; held so that they stay valid.
    public let mapping: MappedFile
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int

    /// Calls `body` with the tensor's bytes (valid only inside `body`).
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let all = mapping.bytes
        let slice = UnsafeRawBufferPointer(rebasing: all[fileOffset..<(fileOffset + info.byteCount)])
        return try withExtendedLifetime(mapping) { () throws(E) -> R in try body(slice) }
    }
}
