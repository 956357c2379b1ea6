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
        let inputBlocks: [VideoUNetBlock]
        /// Absent when `transformerDepthMiddle` is −2.
        let middleBlock: VideoUNetBlock?
        let outputBlocks: [VideoUNetBlock]
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

            func resBlock(_ s: ParameterScope, _ cin: Int, _ cout: Int) -> VideoUNetBlock.Layer {
                .resBlock(VideoResBlock(s, inChannels: cin, outChannels: cout, embeddingDimension: embedding, configuration: c))
            }
            func transformer(_ s: ParameterScope, _ channels: Int, _ depth: Int) -> VideoUNetBlock.Layer {
                .transformer(SpatialVideoTransformer(s, channels: channels, depth: depth, configuration: c))
            }

            var inputs = [VideoUNetBlock(layers: [
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
                    inputs.append(VideoUNetBlock(layers: layers))
                    skipChannels.append(ch)
                    resIndex += 1
                }
                if level != c.channelMult.count - 1 {
                    let s = scope("input_blocks.\(inputs.count)")
                    inputs.append(VideoUNetBlock(layers: [.downsample(UNetDownsample(s("0"), channels: ch))]))
                    skipChannels.append(ch)
                }
            }
            inputBlocks = inputs

            if c.transformerDepthMiddle >= -1 {
                let middle = scope("middle_block")
                var middleLayers = [resBlock(middle("0"), ch, ch)]
                if c.transformerDepthMiddle >= 0 {
                    middleLayers.append(transformer(middle("1"), ch, c.transformerDepthMiddle))
                    middleLayers.append(resBlock(middle("2"), ch, ch))
                }
                middleBlock = VideoUNetBlock(layers: middleLayers)
            } else {
                middleBlock = nil
            }

            // transformerDepthOutput is in mirror order: output block i takes entry count − 1 − i.
            var outputs: [VideoUNetBlock] = []
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
                    outputs.append(VideoUNetBlock(layers: layers))
                }
            }
            outputBlocks = outputs
            outNorm = GroupNorm(scope("out.0"), groups: 32, channels: ch, epsilon: 1e-5)
            outConv = Conv2d(scope("out.2"), inChannels: mc, outChannels: c.outChannels, kernelSize: 3, padding: 1)
        }

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            table.add("time_embed", timeEmbedding)
            if let (first, second) = labelEmbedding {
                table.add("label_emb.0.0", first)
                table.add("label_emb.0.2", second)
            }
            for (i, block) in inputBlocks.enumerated() { table.add("input_blocks.\(i)", block) }
            if let middleBlock { table.add("middle_block", middleBlock) }
            for (i, block) in outputBlocks.enumerated() { table.add("output_blocks.\(i)", block) }
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

        var h = x
        var skips: [Tensor] = []
        skips.reserveCapacity(layers.inputBlocks.count)
        for block in layers.inputBlocks {
            h = block(h, activatedEmbedding: embedding, context: context, frames: numFrames, backend: backend)
            skips.append(h)
        }
        if let middle = layers.middleBlock {
            h = middle(h, activatedEmbedding: embedding, context: context, frames: numFrames, backend: backend)
        }
        for block in layers.outputBlocks {
            let skip = skips.removeLast()
            h = Tensor.concatenated([backend.contiguous(h), backend.contiguous(skip)], dim: 1)
            let size = skips.last.map { (height: $0.shape[2], width: $0.shape[3]) }
            h = block(h, activatedEmbedding: embedding, context: context, frames: numFrames, upsampleSize: size, backend: backend)
        }
        h = backend.unary(.silu, layers.outNorm(h, backend: backend))
        return layers.outConv(h, backend: backend)
    }
}
