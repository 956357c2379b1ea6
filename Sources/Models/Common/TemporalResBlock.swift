import TensorCore
import TensorNN

/// The temporal half of the video models' res blocks (`time_stack`): the LDM code base's `ResBlock` over
/// `[B, C, T, H, W]`, its convolutions 3-D (SVD: `[3, 1, 1]`, across frames only) and its group norms (32 groups,
/// ε = 1e-5) pooling each group over all frames of a video. The video UNet adds the timestep embedding per frame;
/// the temporal VAE decoder's blocks have none. Input and output widths are equal, so the skip path is the identity.
struct TemporalResBlock: Module {
    let inNorm: GroupNorm
    let inConv: Conv3d
    let embedding: Linear?
    let outNorm: GroupNorm
    let outConv: Conv3d

    /// Reads `in_layers.{0,2}`, `out_layers.{0,3}` and, with an `embeddingDimension`, `emb_layers.1` under `scope`
    /// (`time_stack`).
    init(_ scope: ParameterScope, channels: Int, embeddingDimension: Int?, kernelSize: [Int]) {
        inNorm = GroupNorm(scope("in_layers.0"), groups: 32, channels: channels, epsilon: 1e-5)
        inConv = Conv3d(scope("in_layers.2"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
        embedding = embeddingDimension.map { Linear(scope("emb_layers.1"), inFeatures: $0, outFeatures: channels) }
        outNorm = GroupNorm(scope("out_layers.0"), groups: 32, channels: channels, epsilon: 1e-5)
        outConv = Conv3d(scope("out_layers.3"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("in_layers.0", inNorm)
        table.add("in_layers.2", inConv)
        if let embedding { table.add("emb_layers.1", embedding) }
        table.add("out_layers.0", outNorm)
        table.add("out_layers.3", outConv)
        return table.table
    }

    /// The residual branch only: the block's output is `x + residual(x)`.
    ///
    /// - Parameters:
    ///   - x: `[B, C, T, H, W]`, contiguous.
    ///   - activatedEmbedding: `SiLU(emb)` `[B·T, embeddingDimension]`, frames of a video consecutive; nil for a
    ///     block without an embedding.
    /// - Returns: `[B, C, T, H, W]`.
    func residual(_ x: Tensor, activatedEmbedding: Tensor?, backend: some Backend) -> Tensor {
        let (videos, channels, frames) = (x.shape[0], x.shape[1], x.shape[2])
        var h = inNorm(x, then: .silu, backend: backend)
        h = inConv(h, backend: backend)
        if let embedding, let activatedEmbedding {
            // [B·T, C] → [B, C, T, 1, 1], a view.
            let shift = embedding(activatedEmbedding, backend: backend)
                .reshaped([videos, frames, channels]).permuted([0, 2, 1]).unsqueezed(3).unsqueezed(4)
            h = backend.add(h, shift)
        }
        h = outNorm(h, then: .silu, backend: backend)
        return outConv(h, backend: backend)
    }

    /// `x + residual(x)`.
    func callAsFunction(_ x: Tensor, activatedEmbedding: Tensor?, backend: some Backend) -> Tensor {
        backend.add(x, residual(x, activatedEmbedding: activatedEmbedding, backend: backend))
    }
}
