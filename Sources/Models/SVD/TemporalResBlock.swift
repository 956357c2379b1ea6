import TensorCore
import TensorNN

/// The temporal half of a video res block (`time_stack`): the UNet res block over `[B, C, T, H, W]`, its
/// convolutions 3-D with a `[3, 1, 1]` kernel (across frames only) and its group norms pooling each group
/// over all frames of a video. The timestep embedding is added per frame. Input and output widths are equal,
/// so the skip path is the identity.
struct TemporalResBlock: Module {
    let inNorm: GroupNorm
    let inConv: TemporalConvolution
    let embedding: Linear
    let outNorm: GroupNorm
    let outConv: TemporalConvolution

    /// Reads `in_layers.{0,2}`, `emb_layers.1` and `out_layers.{0,3}` under `scope` (`time_stack`).
    init(_ scope: ParameterScope, channels: Int, embeddingDimension: Int, kernelSize: [Int]) {
        inNorm = GroupNorm(scope("in_layers.0"), groups: 32, channels: channels, epsilon: 1e-5)
        inConv = TemporalConvolution(scope("in_layers.2"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
        embedding = Linear(scope("emb_layers.1"), inFeatures: embeddingDimension, outFeatures: channels)
        outNorm = GroupNorm(scope("out_layers.0"), groups: 32, channels: channels, epsilon: 1e-5)
        outConv = TemporalConvolution(scope("out_layers.3"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("in_layers.0", inNorm)
        table.add("in_layers.2", inConv)
        table.add("emb_layers.1", embedding)
        table.add("out_layers.0", outNorm)
        table.add("out_layers.3", outConv)
        return table.table
    }

    /// The residual branch only: the block's output is `x + residual(x)`.
    ///
    /// - Parameters:
    ///   - x: `[B, C, T, H, W]`, contiguous.
    ///   - activatedEmbedding: `SiLU(emb)` `[B·T, embeddingDimension]`, frames of a video consecutive.
    /// - Returns: `[B, C, T, H, W]`.
    func residual(_ x: Tensor, activatedEmbedding: Tensor, backend: some Backend) -> Tensor {
        let (videos, channels, frames) = (x.shape[0], x.shape[1], x.shape[2])
        var h = backend.unary(.silu, inNorm(x, backend: backend))
        h = inConv(h, backend: backend)
        // [B·T, C] → [B, C, T, 1, 1], a view.
        let shift = embedding(activatedEmbedding, backend: backend)
            .reshaped([videos, frames, channels]).permuted([0, 2, 1]).unsqueezed(3).unsqueezed(4)
        h = backend.add(h, shift)
        h = backend.unary(.silu, outNorm(h, backend: backend))
        return outConv(h, backend: backend)
    }
}
