import TensorCore

/// A 2-D convolution over `[N, C, H, W]` with a square kernel, PyTorch's `weight[out, in/groups, k, k]`.
public struct Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int
    public let groups: Int

    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, groups: Int = 1) {
        precondition(weight.rank == 4, "Conv2d weight must be [out, in/groups, kh, kw], got \(weight.shape)")
        precondition(groups >= 1 && weight.shape[0] % groups == 0, "Conv2d: \(weight.shape[0]) outputs in \(groups) groups")
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    /// Reads `weight` and (when `bias`) `bias` from `scope`.
    public init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1,
                padding: Int = 0, groups: Int = 1, bias: Bool = true) {
        precondition(inChannels % groups == 0, "Conv2d: \(inChannels) inputs in \(groups) groups")
        self.init(weight: scope.tensor("weight", shape: [outChannels, inChannels / groups, kernelSize, kernelSize]),
                  bias: scope.tensor("bias", shape: [outChannels], if: bias),
                  stride: stride, padding: padding, groups: groups)
    }

    public var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("weight", weight)
        table.add("bias", bias)
        return table.table
    }

    /// `x[N, C, H, W]` → `[N, out, H', W']`.
    public func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.convolution(x, weight: weight, bias: bias, stride: [stride, stride], padding: [padding, padding],
                            dilation: [1, 1], groups: groups)
    }
}
