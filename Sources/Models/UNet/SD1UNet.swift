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
        let inputBlocks: [UNetBlock]
        /// Absent when `transformerDepthMiddle` is −2.
        let middleBlock: UNetBlock?
        let outputBlocks: [UNetBlock]
        let outNorm: GroupNorm
        let outConv: Conv2d

        /// Builds every module from `scope`, level by level as the reference constructs them.
        init(_ scope: ParameterScope, configuration c: SD1UNetConfiguration) {
            let mc = c.modelChannels, embedding = c.timeEmbedDim
            timeEmbedding = UNetTimestepEmbedding(scope("time_embed"), dimension: mc, embeddingDimension: embedding)

            func resBlock(_ s: ParameterScope, _ cin: Int, _ cout: Int) -> UNetBlock.Layer {
                .resBlock(UNetResBlock(s, inChannels: cin, outChannels: cout, embeddingDimension: embedding))
            }
            func transformer(_ s: ParameterScope, _ channels: Int, _ depth: Int) -> UNetBlock.Layer {
                .transformer(SpatialTransformer(s, channels: channels, heads: c.heads(channels: channels), depth: depth,
                                                contextDimension: c.contextDim,
                                                linearProjection: c.useLinearInTransformer))
            }

            var inputs = [UNetBlock(layers: [
                .conv(Conv2d(scope("input_blocks.0.0"), inChannels: c.inChannels, outChannels: mc, kernelSize: 3, padding: 1)),
            ])]
            var skipChannels = [mc], ch = mc, resIndex = 0
            for (level, mult) in c.channelMult.enumerated() {
                for _ in 0..<c.numResBlocks[level] {
                    let s = scope("input_blocks.\(inputs.count)")
                    var layers = [resBlock(s("0"), ch, mult * mc)]
                    ch = mult * mc
                    let depth = resIndex < c.transformerDepth.count ? c.transformerDepth[resIndex] : 0
                    if depth > 0 { layers.append(transformer(s("1"), ch, depth)) }
                    inputs.append(UNetBlock(layers: layers))
                    skipChannels.append(ch)
                    resIndex += 1
                }
                if level != c.channelMult.count - 1 {
                    let s = scope("input_blocks.\(inputs.count)")
                    inputs.append(UNetBlock(layers: [.downsample(UNetDownsample(s("0"), channels: ch))]))
                    skipChannels.append(ch)
                }
            }
            inputBlocks = inputs

            if c.transformerDepthMiddle >= -1 {
                let s = scope("middle_block")
                var layers = [resBlock(s("0"), ch, ch)]
                if c.transformerDepthMiddle >= 0 {
                    layers.append(transformer(s("1"), ch, c.transformerDepthMiddle))
                    layers.append(resBlock(s("2"), ch, ch))
                }
                middleBlock = UNetBlock(layers: layers)
            } else {
                middleBlock = nil
            }

            // transformerDepthOutput is listed from the highest resolution down; the output side starts at
            // the lowest, so output block i takes entry count − 1 − i (the reference pops from the end).
            var outputs: [UNetBlock] = []
            for level in c.channelMult.indices.reversed() {
                let mult = c.channelMult[level]
                for i in 0...c.numResBlocks[level] {
                    let s = scope("output_blocks.\(outputs.count)")
                    var layers = [resBlock(s("0"), ch + (skipChannels.popLast() ?? 0), mult * mc)]
                    ch = mult * mc
                    let mirrored = c.transformerDepthOutput.count - 1 - outputs.count
                    let depth = c.transformerDepthOutput.indices.contains(mirrored) ? c.transformerDepthOutput[mirrored] : 0
                    if depth > 0 { layers.append(transformer(s("1"), ch, depth)) }
                    if level > 0 && i == c.numResBlocks[level] {
                        layers.append(.upsample(UNetUpsample(s("\(layers.count)"), channels: ch)))
                    }
                    outputs.append(UNetBlock(layers: layers))
                }
            }
            outputBlocks = outputs

            outNorm = GroupNorm(scope("out.0"), groups: 32, channels: ch, epsilon: 1e-5)
            outConv = Conv2d(scope("out.2"), inChannels: mc, outChannels: c.outChannels, kernelSize: 3, padding: 1)
        }

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            table.add("time_embed", timeEmbedding)
            for (i, block) in inputBlocks.enumerated() { table.add("input_blocks.\(i)", block) }
            if let middleBlock { table.add("middle_block", middleBlock) }
            for (i, block) in outputBlocks.enumerated() { table.add("output_blocks.\(i)", block) }
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
        var h = x
        var skips: [Tensor] = []
        skips.reserveCapacity(layers.inputBlocks.count)
        for block in layers.inputBlocks {
            h = block(h, activatedEmbedding: embedding, context: context, backend: backend)
            skips.append(h)
        }
        if let middle = layers.middleBlock {
            h = middle(h, activatedEmbedding: embedding, context: context, backend: backend)
        }
        for block in layers.outputBlocks {
            let skip = skips.removeLast()
            h = Tensor.concatenated([backend.contiguous(h), backend.contiguous(skip)], dim: 1)
            let size = skips.last.map { (height: $0.shape[2], width: $0.shape[3]) }
            h = block(h, activatedEmbedding: embedding, context: context, upsampleSize: size, backend: backend)
        }
        h = backend.unary(.silu, layers.outNorm(h, backend: backend))
        return layers.outConv(h, backend: backend)
    }
}
