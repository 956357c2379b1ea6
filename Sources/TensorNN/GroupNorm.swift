import TensorCore

/// Group normalisation (Wu & He, "Group Normalization", 2018) of `x[N, C, ...]` with a per-channel affine.
public struct GroupNorm: Module {
    public let groups: Int
    public let epsilon: Float
    public let weight: Tensor?
    public let bias: Tensor?

    public init(groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) {
        self.groups = groups
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }

    /// Reads `weight` and `bias` (`[channels]`) from `scope` when `affine`.
    public init(_ scope: ParameterScope, groups: Int, channels: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        precondition(groups >= 1 && channels % groups == 0, "GroupNorm: \(channels) channels in \(groups) groups")
        self.init(groups: groups, weight: scope.tensor("weight", shape: [channels], if: affine),
                  bias: scope.tensor("bias", shape: [channels], if: affine), epsilon: epsilon)
    }

    public var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("weight", weight)
        table.add("bias", bias)
        return table.table
    }

    public func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.groupNorm(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon)
    }

    /// The normalisation followed by `activation` (`silu` in every diffusion res block), as one backend op.
    public func callAsFunction(_ x: Tensor, then activation: UnaryOp, backend: some Backend) -> Tensor {
        backend.groupNorm(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon, activation: activation)
    }
}
