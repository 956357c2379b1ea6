import TensorCore

/// Layer normalisation (Ba, Kiros & Hinton, "Layer Normalization", 2016) over the last dimension.
public struct LayerNorm: Module {
    public let epsilon: Float
    public let weight: Tensor?
    public let bias: Tensor?

    public init(weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) {
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }

    /// Reads `weight` and `bias` (`[dimension]`) from `scope` when `affine`.
    public init(_ scope: ParameterScope, dimension: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        self.init(weight: scope.tensor("weight", shape: [dimension], if: affine),
                  bias: scope.tensor("bias", shape: [dimension], if: affine), epsilon: epsilon)
    }

    public var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("weight", weight)
        table.add("bias", bias)
        return table.table
    }

    public func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.layerNorm(x, weight: weight, bias: bias, epsilon: epsilon)
    }
}
