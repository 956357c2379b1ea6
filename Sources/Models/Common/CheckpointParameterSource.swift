import Checkpoints
import TensorCore
import TensorNN

/// A safetensors checkpoint as a ``ParameterSource``: keys renamed by ``KeyRule``s, tensors handed out
/// in their stored dtype pointing into the file's mapping (no copy) when the dtype is one the engine
/// computes in and the bytes are aligned; otherwise copied.
public struct CheckpointParameterSource: ParameterSource, Sendable {
    public let file: SafetensorsFile
    /// Renamed key → key in the file.
    private let fileKey: [String: String]

    /// - Parameters:
    ///   - file: the checkpoint.
    ///   - rules: renames applied to the file's keys before they are matched with parameters.
    public init(file: SafetensorsFile, rules: [KeyRule] = []) {
        self.file = file
        var map: [String: String] = [:]
        map.reserveCapacity(file.tensors.count)
        for name in file.names { map[KeyRule.apply(rules, to: name)] = name }
        fileKey = map
    }

    public var parameterKeys: [String] { Array(fileKey.keys) }

    public func parameterShape(_ key: String) -> [Int]? {
        fileKey[key].flatMap { file[$0]?.shape }
    }

    public func parameter(_ key: String) throws -> Tensor {
        guard let name = fileKey[key] else {
            throw CheckpointError(.missingTensor, "no such tensor in the file", path: file.path, key: key)
        }
        let bytes = try file.bytes(name)
        let dtype: DType
        switch bytes.info.dtype {
        case .f32: dtype = .float32
        case .f16: dtype = .float16
        case .bf16: dtype = .bfloat16
        case .i64: dtype = .int64
        case .u8: dtype = .uint8
        default:
            throw CheckpointError(.unsupportedConversion, "\(bytes.info.dtype.rawValue) is not a tensor dtype the engine uses",
                                  path: file.path, key: name)
        }
        let base = file.mapping.bytes.baseAddress! + bytes.fileOffset
        let count = bytes.info.byteCount
        if Int(bitPattern: base) % dtype.byteSize == 0 {
            let storage = TensorStorage(borrowing: base, byteCount: count, owner: file.mapping)
            return Tensor(storage: storage, dtype: dtype, shape: bytes.info.shape)
        }
        let storage = TensorStorage(byteCount: count)
        storage.pointer.copyMemory(from: base, byteCount: count)
        return Tensor(storage: storage, dtype: dtype, shape: bytes.info.shape)
    }
}
