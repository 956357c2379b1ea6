import TensorCore

/// A layer or block of layers with named parameters.
///
/// A module is a value: its parameters are tensors held as loaded (f16, bf16 or f32, usually borrowed
/// from a memory-mapped checkpoint) and converted by the backend at use. Modules are built by an
/// initializer that reads every parameter through a ``ParameterScope``, which is where the
/// checkpoint key of each parameter is written down; the scope's ``ParameterLoader`` then reports
/// what was missing, misshapen or left over.
///
/// Forward passes take the ``Backend`` explicitly (`callAsFunction(_:backend:)`), so the same module
/// runs on the reference backend in tests and on a fast backend in production.
public protocol Module: Sendable {
    /// Every parameter by its path relative to this module, e.g. `weight` or
    /// `encoder.layers.0.mlp.fc1.bias` (checkpoint key names, without the checkpoint's prefix).
    var parameters: [String: Tensor] { get }
}

extension Module {
    /// Number of scalar parameters.
    public var parameterCount: Int { parameters.values.reduce(0) { $0 + $1.count } }

    /// Bytes the parameters occupy in their stored dtypes.
    public var parameterBytes: Int { parameters.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize } }
}

/// Builds a module's parameter table from its own tensors and its children's tables.
public struct ParameterTableBuilder {
    public private(set) var table: [String: Tensor] = [:]

    public init() {}

    /// Adds `tensor` at `path` (nothing for `nil`, an optional parameter that is absent).
    public mutating func add(_ path: String, _ tensor: Tensor?) {
        if let tensor { table[path] = tensor }
    }

    /// Adds every parameter of `child` under `path.`.
    public mutating func add(_ path: String, _ child: some Module) {
        for (key, tensor) in child.parameters { table[path + "." + key] = tensor }
    }
}
