import TensorCore

/// A 3-D convolution over `[N, C, T, H, W]` with stride 1 and "same" padding (`k/2` on each side of each
/// dimension, odd kernels), PyTorch's `weight[out, in, kt, kh, kw]`. Video models use `[3, 1, 1]` kernels to mix
/// each pixel across neighbouring frames, zero-padded at the first and last frame.
public struct Conv3d: Module {
    public let weight: Tensor
    public let bias: Tensor?

    /// Reads `weight` and (when `bias`) `bias` from `scope`.
    public init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: [Int], bias: Bool = true) {
        precondition(kernelSize.count == 3 && kernelSize.allSatisfy { $0 % 2 == 1 },
                     "Conv3d: kernel \(kernelSize) is not three odd sizes")
        weight = scope.tensor("weight", shape: [outChannels, inChannels] + kernelSize)
        self.bias = scope.tensor("bias", shape: [outChannels], if: bias)
    }

    public var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("weight", weight)
        table.add("bias", bias)
        return table.table
    }

    /// `x[N, in, T, H, W]` → `[N, out, T, H, W]`.
    public func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.convolution(x, weight: weight, bias: bias, stride: [1, 1, 1], padding: weight.shape[2...].map { $0 / 2 },
                            dilation: [1, 1, 1], groups: 1)
    }
}
