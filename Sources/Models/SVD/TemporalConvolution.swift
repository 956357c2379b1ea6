import TensorCore
import TensorNN

/// A 3-D convolution over `[N, C, T, H, W]` with stride 1 and "same" padding (`kernel / 2` per dimension),
/// PyTorch's `weight[out, in, kt, kh, kw]`: the temporal res block's `[3, 1, 1]` convolution across frames.
struct TemporalConvolution: Module {
    let weight: Tensor
    let bias: Tensor?

    /// Reads `weight` and `bias` from `scope`.
    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: [Int]) {
        precondition(kernelSize.count == 3, "TemporalConvolution: kernel \(kernelSize) is not 3-D")
        weight = scope.tensor("weight", shape: [outChannels, inChannels] + kernelSize)
        bias = scope.tensor("bias", shape: [outChannels])
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("weight", weight)
        table.add("bias", bias)
        return table.table
    }

    /// `x[N, in, T, H, W]` → `[N, out, T, H, W]`.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        let kernel = Array(weight.shape[2...])
        return backend.convolution(x, weight: weight, bias: bias, stride: [1, 1, 1], padding: kernel.map { $0 / 2 },
                                   dilation: [1, 1, 1], groups: 1)
    }
}
