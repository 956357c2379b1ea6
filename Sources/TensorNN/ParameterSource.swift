import TensorCore

/// Something parameters are loaded from: a checkpoint file, or a dictionary of tensors in tests.
public protocol ParameterSource {
    /// Every key the source holds.
    var parameterKeys: [String] { get }

    /// The shape stored at `key`, or nil when there is no such key.
    func parameterShape(_ key: String) -> [Int]?

    /// The tensor stored at `key`, in its stored dtype (zero-copy where the source allows).
    ///
    /// - Throws: when the key is absent or its data cannot be represented as a ``Tensor``.
    func parameter(_ key: String) throws -> Tensor
}

/// A missing key asked of a dictionary source.
public struct MissingParameterError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var description: String { "no parameter \(key)" }
}

extension Dictionary: ParameterSource where Key == String, Value == Tensor {
    public var parameterKeys: [String] { Array(keys) }

    public func parameterShape(_ key: String) -> [Int]? { self[key]?.shape }

    public func parameter(_ key: String) throws -> Tensor {
        guard let tensor = self[key] else { throw MissingParameterError(key: key) }
        return tensor
    }
}
