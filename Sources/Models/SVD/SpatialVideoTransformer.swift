import Checkpoints
import TensorCore
import TensorNN

/// The video UNet's attention layer (ComfyUI's `SpatialVideoTransformer`): a ``SpatialTransformer`` whose
/// every block is followed by a temporal block (`time_stack.N`) over the frames of each pixel, the two
/// mixed by an ``AlphaBlender`` (`time_mixer`).
///
/// Before each temporal block the tokens get a learned frame-position embedding, `time_pos_embed` (an MLP
/// `C → 4C → C` with SiLU) of the sinusoidal embedding of the frame index `0 ..< T`. The temporal blocks
/// cross-attend to the first frame's context of each video (`use_spatial_context`).
struct SpatialVideoTransformer: Module {
    let spatial: SpatialTransformer
    let timeStack: [BasicTransformerBlock]
    let timePositionIn: Linear
    let timePositionOut: Linear
    let mixer: AlphaBlender
    let maxTimeEmbedPeriod: Int

    /// Reads the spatial transformer's keys under `scope`, then `time_stack.0 ..< depth`, `time_pos_embed.{0,2}`
    /// and `time_mixer`.
    init(_ scope: ParameterScope, channels: Int, depth: Int, configuration c: VideoUNetConfiguration) {
        let heads = c.heads(channels: channels)
        spatial = SpatialTransformer(scope, channels: channels, heads: heads, depth: depth, contextDimension: c.contextDim,
                                     linearProjection: c.useLinearInTransformer)
        timeStack = (0..<depth).map { d in
            BasicTransformerBlock(scope("time_stack.\(d)"), dimension: channels, heads: heads,
                                  contextDimension: c.contextDim, feedForwardIn: c.extraFFMixLayer)
        }
        timePositionIn = Linear(scope("time_pos_embed.0"), inFeatures: channels, outFeatures: channels * 4)
        timePositionOut = Linear(scope("time_pos_embed.2"), inFeatures: channels * 4, outFeatures: channels)
        mixer = AlphaBlender(scope("time_mixer"), strategy: c.mergeStrategy)
        maxTimeEmbedPeriod = c.maxTimeEmbedPeriod
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        for (key, tensor) in spatial.parameters { table.add(key, tensor) }
        for (d, block) in timeStack.enumerated() { table.add("time_stack.\(d)", block) }
        table.add("time_pos_embed.0", timePositionIn)
        table.add("time_pos_embed.2", timePositionOut)
        table.add("time_mixer", mixer)
        return table.table
    }

    /// The frame-position embedding `[T, C]`.
    func framePositions(_ frames: Int, backend: some Backend) -> Tensor {
        let sinusoid = UNetTimestepEmbedding.sinusoidal((0..<frames).map(Float.init), dimension: timePositionIn.inFeatures,
                                                        maxPeriod: Float(maxTimeEmbedPeriod))
        return timePositionOut(backend.unary(.silu, timePositionIn(sinusoid, backend: backend)), backend: backend)
    }

    /// `x[B·T, C, H, W]` (the `T` frames of each video consecutive) → `[B·T, C, H, W]`.
    ///
    /// - Parameter context: `[B·T, Lc, contextDim]`, each frame's cross-attention context.
    func callAsFunction(_ x: Tensor, context: Tensor, frames: Int, backend: some Backend) -> Tensor {
        let rows = x.shape[0], pixels = x.shape[2] * x.shape[3]
        let videos = rows / frames
        // The first frame's context of each video: [B, Lc, D].
        let timeContext = context.reshaped([videos, frames, context.shape[1], context.shape[2]])
            .narrowed(dim: 1, start: 0, length: 1).squeezed(1)
        let positions = framePositions(frames, backend: backend)
        var tokens = spatial.projectedIn(x, backend: backend)  // [B·T, S, C]
        let channels = tokens.shape[2]
        for (block, temporalBlock) in zip(spatial.blocks, timeStack) {
            tokens = block(tokens, context: context, backend: backend)
            // [B, T, S, C] read as [B, S, T, C], plus the frame positions: one pass that also reorders.
            let perPixel = backend.add(tokens.reshaped([videos, frames, pixels, channels]).permuted([0, 2, 1, 3]),
                                       positions.reshaped([1, 1, frames, channels]))
            let mixed = temporalBlock.temporal(perPixel.reshaped([videos * pixels, frames, channels]), context: timeContext,
                                               backend: backend)
            // Back to [B, T, S, C] while mixing.
            tokens = mixer(spatial: tokens.reshaped([videos, frames, pixels, channels]),
                           temporal: mixed.reshaped([videos, pixels, frames, channels]).permuted([0, 2, 1, 3]),
                           backend: backend).reshaped([rows, pixels, channels])
        }
        return spatial.projectedOut(tokens, residual: x, backend: backend)
    }
}
