import Checkpoints
import TensorCore
import TensorNN

/// The Stable Diffusion 1.x denoiser: the latent-diffusion UNet of Rombach et al., "High-Resolution Image
/// Synthesis with Latent Diffusion Models" (2022), an encoder–decoder of residual blocks and spatial
/// transformers with skip connections (Ronneberger et al., "U-Net", 2015), conditioned on the timestep and,
/// through cross-attention, on the text encoder's hidden states. It predicts the noise ε.
///
/// Any shape ``SD1UNetConfiguration`` describes is built (levels, res blocks per level, transformer
/// depths per block, middle block variants, heads by count or width, conv or linear transformer
/// projections), reading exactly the keys of ``SD1UNetConfiguration/expectedKeys(prefix:)``.
///
/// Weights are held in one dtype chosen at load (float32 by default, the precision the reference computes
/// in on the CPU); activations are float32.
public struct SD1UNet: Module {
    public let configuration: SD1UNetConfiguration
    /// What loading found: every key read; nothing missing, misshapen or left over.
    public let loadReport: ParameterLoadReport
    let layers: Layers

    /// The model's modules.
    struct Layers: Sendable {
        let timeEmbedding: UNetTimestepEmbedding
        let blocks: UNetBlocks
        let outNorm: GroupNorm
        let outConv: Conv2d

        /// Builds every module from `scope`, level by level as the reference constructs them.
        init(_ scope: ParameterScope, configuration c: SD1UNetConfiguration) {
            let mc = c.modelChannels, embedding = c.timeEmbedDim
            timeEmbedding = UNetTimestepEmbedding(scope("time_embed"), dimension: mc, embeddingDimension: embedding)
            let shape = UNetBlocks.Shape(
                inChannels: c.inChannels, modelChannels: mc, channelMult: c.channelMult, numResBlocks: c.numResBlocks,
                transformerDepth: c.transformerDepth, transformerDepthOutput: c.transformerDepthOutput,
                transformerDepthMiddle: c.transformerDepthMiddle)
            blocks = UNetBlocks(scope, shape: shape, resBlock: { s, cin, cout in
                .resBlock(UNetResBlock(s, inChannels: cin, outChannels: cout, embeddingDimension: embedding))
            }, transformer: { s, channels, depth in
                .transformer(SpatialTransformer(s, channels: channels, heads: c.heads(channels: channels), depth: depth,
                                                contextDimension: c.contextDim, linearProjection: c.useLinearInTransformer))
            })
            outNorm = GroupNorm(scope("out.0"), groups: 32, channels: blocks.outputChannels, epsilon: 1e-5)
            outConv = Conv2d(scope("out.2"), inChannels: mc, outChannels: c.outChannels, kernelSize: 3, padding: 1)
        }

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            table.add("time_embed", timeEmbedding)
            blocks.add(to: &table)
            table.add("out.0", outNorm)
            table.add("out.2", outConv)
            return table.table
        }
    }

    /// Parameters by key relative to the UNet prefix (`input_blocks.1.0.in_layers.0.weight`, …).
    public var parameters: [String: Tensor] { layers.parameters }

    /// Predicts the noise for a batch.
    ///
    /// - Parameters:
    ///   - x: `[B, inChannels, H, W]`, the model input (the sampler's latent already scaled by
    ///     `1/sqrt(σ² + 1)`). H and W need not be multiples of `2^(levels − 1)`: downsampling rounds up and
    ///   upsampling resamples to the matching skip tensor's size.
    ///   - timesteps: one timestep per batch row (the reference passes the integer index as a float).
    ///   - context: `[B, Lc, contextDim]` cross-attention context (a batch of 1 is shared by every row).
    ///   - backend: where the compute runs (call from a compute thread).
    /// - Returns: `[B, outChannels, H, W]`.
    public func callAsFunction(_ x: Tensor, timesteps: [Float], context: Tensor, backend: some Backend) -> Tensor {
        let c = configuration
        precondition(x.rank == 4 && x.shape[1] == c.inChannels, "SD1UNet: input \(x.shape), expected [B, \(c.inChannels), H, W]")
        let batch = x.shape[0]
        precondition(timesteps.count == batch, "SD1UNet: \(timesteps.count) timesteps for a batch of \(batch)")
        precondition(context.rank == 3 && context.shape[2] == c.contextDim && (context.shape[0] == batch || context.shape[0] == 1),
                     "SD1UNet: context \(context.shape), expected [\(batch), L, \(c.contextDim)]")
        let context = context.shape[0] == batch ? context : context.expanded(to: [batch, context.shape[1], context.shape[2]])

        let embedding = backend.unary(.silu, layers.timeEmbedding(timesteps, backend: backend))
        var h = layers.blocks(x, activatedEmbedding: embedding, context: context, backend: backend)
        h = layers.outNorm(h, then: .silu, backend: backend)
        return layers.outConv(h, backend: backend)
    }
}
