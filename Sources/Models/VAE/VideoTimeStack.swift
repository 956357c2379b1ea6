import TensorCore
import TensorNN

/// The temporal half of a ``TemporalResnetBlock``: the UNet code base's `ResBlock` in three dimensions without a
/// timestep embedding (`time_stack`): `x + conv(silu(norm(conv(silu(norm(x))))))` over `[B, C, T, H, W]`.
///
/// Unlike the autoencoder's own blocks its GroupNorms use ε = 1e-5 (PyTorch's default), and each group's statistics
/// are taken over all frames of the video. Keys: `in_layers.0` (norm), `in_layers.2` (conv), `out_layers.0` (norm),
/// `out_layers.3` (conv).
struct VideoTimeStack: Module {
    let inNorm: GroupNorm
    let inConv: VideoTimeConvolution
    let outNorm: GroupNorm
    let outConv: VideoTimeConvolution

    init(_ scope: ParameterScope, channels: Int, kernelSize: [Int]) {
        inNorm = GroupNorm(scope("in_layers.0"), groups: 32, channels: channels, epsilon: 1e-5)
        inConv = VideoTimeConvolution(scope("in_layers.2"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
        outNorm = GroupNorm(scope("out_layers.0"), groups: 32, channels: channels, epsilon: 1e-5)
        outConv = VideoTimeConvolution(scope("out_layers.3"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("in_layers.0", inNorm)
        table.add("in_layers.2", inConv)
        table.add("out_layers.0", outNorm)
        table.add("out_layers.3", outConv)
        return table.table
    }

    /// `x[B, C, T, H, W]` (dense) → `[B, C, T, H, W]`.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        var h = backend.unary(.silu, inNorm(x, backend: backend))
        h = inConv(h, backend: backend)
        h = backend.unary(.silu, outNorm(h, backend: backend))
        h = outConv(h, backend: backend)
        return backend.add(x, h)
    }
}
