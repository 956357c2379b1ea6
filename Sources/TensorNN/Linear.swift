import TensorCore

/// A fully connected layer, `y = x · Wᵀ + b`, with PyTorch's `weight[out, in]` layout.
public struct Linear: Module {
    /// `[outFeatures, inFeatures]`, in the dtype it was loaded with.
    public let weight: Tensor
    /// `[outFeatures]`, or nil for a layer without bias.
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "Linear weight must be [out, in], got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "Linear bias \(bias!.shape) for weight \(weight.shape)")
        self.weight = weight
        self.bias = bias
    }

    /// Reads `weight` and (when `bias`) `bias` from `scope`.
    public init(_ scope: ParameterScope, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.init(weight: scope.tensor("weight", shape: [outFeatures, inFeatures]),
                  bias: scope.tensor("bias", shape: [outFeatures], if: bias))
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("weight", weight)
        table.add("bias", bias)
        return table.table
    }

    /// `x[..., in]` → `[..., out]`.
    public func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.linear(x, weight: weight, bias: bias)
    }
}
