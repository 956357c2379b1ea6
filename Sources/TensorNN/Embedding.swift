import TensorCore

/// A lookup table `weight[count, dimension]`: int64 ids `[...]` → rows `[..., dimension]`.
public struct Embedding: Module {
    public let weight: Tensor

    public init(weight: Tensor) {
        precondition(weight.rank == 2, "Embedding table must be [count, dimension], got \(weight.shape)")
        self.weight = weight
    }

    /// Reads `weight` from `scope`.
    public init(_ scope: ParameterScope, count: Int, dimension: Int) {
        self.init(weight: scope.tensor("weight", shape: [count, dimension]))
    }

    public var count: Int { weight.shape[0] }
    public var dimension: Int { weight.shape[1] }

    public var parameters: [String: Tensor] { ["weight": weight] }

    public func callAsFunction(_ ids: Tensor, backend: some Backend) -> Tensor {
        backend.embedding(ids, table: weight)
    }
}
