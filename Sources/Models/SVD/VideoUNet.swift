import Checkpoints
import TensorCore
import TensorNN

/// The Stable Video Diffusion denoiser (Blattmann et al., "Stable Video Diffusion: Scaling Latent Video
/// Diffusion Models to Large Datasets", 2023): the latent-diffusion UNet with temporal layers. Every res
/// block is a ``VideoResBlock`` and every transformer a ``SpatialVideoTransformer``; the frames of a video
/// are consecutive rows of the batch and the temporal layers mix across them. The timestep embedding is
/// added to the `label_emb` MLP of the conditioning vector `y` (fps, motion bucket, augmentation). It
/// predicts v (EDM v-prediction in ComfyUI's `SVD_img2vid`).
///
/// Weights are held in one dtype chosen at load (float32 by default); activations are float32.
public struct VideoUNet: Module {
    public let configuration: VideoUNetConfiguration
    /// What loading found: every key read; nothing missing, misshapen or left over.
    public let loadReport: ParameterLoadReport
    let layers: Layers

    /// The model's modules.
    struct Layers: Sendable {
        let timeEmbedding: UNetTimestepEmbedding
        /// `label_emb.0.{0,2}` (`adm → 4·mc → 4·mc`, SiLU between), absent without `admInChannels`.
        let labelEmbedding: (Linear, Linear)?
        let blocks: UNetBlocks
        let outNorm: GroupNorm
        let outConv: Conv2d

        /// Builds every module from `scope`, level by level as the reference constructs them.
        init(_ scope: ParameterScope, configuration c: VideoUNetConfiguration) {
            let mc = c.modelChannels, embedding = c.timeEmbedDim
            timeEmbedding = UNetTimestepEmbedding(scope("time_embed"), dimension: mc, embeddingDimension: embedding)
            labelEmbedding = c.admInChannels.map { adm in
                (Linear(scope("label_emb.0.0"), inFeatures: adm, outFeatures: embedding),
                 Linear(scope("label_emb.0.2"), inFeatures: embedding, outFeatures: embedding))
            }

            let shape = UNetBlocks.Shape(
                inChannels: c.inChannels, modelChannels: mc, channelMult: c.channelMult, numResBlocks: c.numResBlocks,
                transformerDepth: c.transformerDepth, transformerDepthOutput: c.transformerDepthOutput,
                transformerDepthMiddle: c.transformerDepthMiddle)
            blocks = UNetBlocks(scope, shape: shape, resBlock: { s, cin, cout in
                .videoResBlock(VideoResBlock(s, inChannels: cin, outChannels: cout, embeddingDimension: embedding, configuration: c))
            }, transformer: { s, channels, depth in
                .videoTransformer(SpatialVideoTransformer(s, channels: channels, depth: depth, configuration: c))
            })
            outNorm = GroupNorm(scope("out.0"), groups: 32, channels: blocks.outputChannels, epsilon: 1e-5)
            outConv = Conv2d(scope("out.2"), inChannels: mc, outChannels: c.outChannels, kernelSize: 3, padding: 1)
        }

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            table.add("time_embed", timeEmbedding)
            if let (first, second) = labelEmbedding {
                table.add("label_emb.0.0", first)
                table.add("label_emb.0.2", second)
            }
            blocks.add(to: &table)
            table.add("out.0", outNorm)
            table.add("out.2", outConv)
            return table.table
        }
    }

    /// Parameters by key relative to the UNet prefix (`input_blocks.1.0.time_stack.in_layers.2.weight`, …).
    public var parameters: [String: Tensor] { layers.parameters }

    /// Predicts v for a batch of videos.
    ///
    /// - Parameters:
    ///   - x: `[B, inChannels, H, W]`: each frame's noisy latent already scaled by `1/sqrt(σ² + 1)`,
    ///     concatenated on channels with the conditioning image's latent. The `numFrames` frames of a video
    ///     are consecutive rows; several videos (e.g. the positive and negative conditioning) may follow
    ///     each other.
    ///   - timesteps: one timestep per row (`0.25·ln σ` for SVD).
    ///   - context: `[B, Lc, contextDim]` (the CLIP image embedding per row; a batch of 1 is shared).
    ///   - y: `[B, admInChannels]` conditioning vector (a batch of 1 is shared); ignored by a model without
    ///     `label_emb`.
    ///   - numFrames: frames per video; `B` is a multiple of it.
    ///   - backend: where the compute runs (call from a compute thread).
    /// - Returns: `[B, outChannels, H, W]`.
    public func callAsFunction(_ x: Tensor, timesteps: [Float], context: Tensor, y: Tensor, numFrames: Int,
                               backend: some Backend) -> Tensor {
        let c = configuration
        precondition(x.rank == 4 && x.shape[1] == c.inChannels, "VideoUNet: input \(x.shape), expected [B, \(c.inChannels), H, W]")
        let batch = x.shape[0]
        precondition(numFrames > 0 && batch % numFrames == 0, "VideoUNet: a batch of \(batch) is not whole videos of \(numFrames) frames")
        precondition(timesteps.count == batch, "VideoUNet: \(timesteps.count) timesteps for a batch of \(batch)")
        precondition(context.rank == 3 && context.shape[2] == c.contextDim && (context.shape[0] == batch || context.shape[0] == 1),
                     "VideoUNet: context \(context.shape), expected [\(batch), L, \(c.contextDim)]")
        let context = context.shape[0] == batch
            ? context : backend.contiguous(context.expanded(to: [batch, context.shape[1], context.shape[2]]))

        var embedding = layers.timeEmbedding(timesteps, backend: backend)
        if let (first, second) = layers.labelEmbedding {
            precondition(y.rank == 2 && y.shape[1] == first.inFeatures && (y.shape[0] == batch || y.shape[0] == 1),
                         "VideoUNet: y \(y.shape), expected [\(batch), \(first.inFeatures)]")
            let label = second(backend.unary(.silu, first(y, backend: backend)), backend: backend)
            embedding = backend.add(embedding, label)
        }
        embedding = backend.unary(.silu, embedding)

        var h = layers.blocks(x, activatedEmbedding: embedding, context: context, frames: numFrames, backend: backend)
        h = layers.outNorm(h, then: .silu, backend: backend)
        return layers.outConv(h, backend: backend)
    }
}
