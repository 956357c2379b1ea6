import TensorCore
import TensorNN

/// A 3-D convolution over `[B, C, T, H, W]` with stride 1 and "same" padding (`k/2` per dimension), PyTorch's
/// `weight[out, in, kt, kh, kw]`: the temporal decoder's `time_stack` convolutions and `conv_out.time_mix_conv`.
/// With SVD's `[3, 1, 1]` kernel it mixes each pixel's channels across three neighbouring frames, zero-padded at
/// the first and last frame.
struct VideoTimeConvolution: Module {
    let weight: Tensor
    let bias: Tensor

    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: [Int]) {
        precondition(kernelSize.count == 3 && kernelSize.allSatisfy { $0 % 2 == 1 },
                     "VideoTimeConvolution: kernel \(kernelSize) is not three odd sizes")
        weight = scope.tensor("weight", shape: [outChannels, inChannels] + kernelSize)
        bias = scope.tensor("bias", shape: [outChannels])
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("weight", weight)
        table.add("bias", bias)
        return table.table
    }

    /// `x[B, in, T, H, W]` → `[B, out, T, H, W]`.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.convolution(x, weight: weight, bias: bias, stride: [1, 1, 1],
                            padding: weight.shape[2...].map { $0 / 2 }, dilation: [1, 1, 1], groups: 1)
    }
}
