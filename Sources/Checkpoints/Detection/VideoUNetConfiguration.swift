/// The video UNet of Stable Video Diffusion (Blattmann et al., "Stable Video Diffusion", 2023): the
/// latent-diffusion UNet with a temporal residual block after each spatial one and a temporal transformer
/// after each spatial transformer block, mixed with learned factors.
///
/// Field names follow ComfyUI's `unet_config` (see ``SD1UNetConfiguration`` for the per-block list
/// conventions, which are the same here). The temporal fields default to what ComfyUI's detection sets
/// for every video checkpoint.
public struct VideoUNetConfiguration: Codable, Sendable, Equatable {
    /// How the spatial and temporal paths are mixed (ComfyUI's `AlphaBlender` strategies).
    public enum MergeStrategy: String, Codable, Sendable, CaseIterable {
        /// `α = mix_factor`.
        case fixed
        /// `α = sigmoid(mix_factor)`.
        case learned
        /// `α = sigmoid(mix_factor)` for video frames, 1 for frames flagged as single images (SVD always
        /// runs with no frame flagged).
        case learnedWithImages = "learned_with_images"
    }

    public var inChannels: Int
    public var outChannels: Int
    public var modelChannels: Int
    /// Channel multiplier per level (resolution).
    public var channelMult: [Int]
    /// Res blocks per level on the input side (the output side has one more per level).
    public var numResBlocks: [Int]
    /// Transformer depth of each input res block, level by level (0 = no attention).
    public var transformerDepth: [Int]
    /// Transformer depth of each output block in ComfyUI's mirror order: entry `i` belongs to
    /// `output_blocks.(count − 1 − i)`.
    public var transformerDepthOutput: [Int]
    /// Middle block: ≥ 0 = res, transformer of this depth, res; −1 = a lone res block; −2 = no middle block.
    public var transformerDepthMiddle: Int
    /// Width of the cross-attention context (the CLIP ViT-H image embedding, 1024).
    public var contextDim: Int
    /// Channels per attention head (64); heads = channels / this.
    public var numHeadChannels: Int
    /// Linear rather than 1×1 conv `proj_in`/`proj_out`.
    public var useLinearInTransformer: Bool
    /// Width of the `label_emb` input `y` (768: fps, motion bucket and augmentation embeddings), nil when absent.
    public var admInChannels: Int?
    /// The temporal transformer blocks open with `norm_in` + `ff_in`.
    public var extraFFMixLayer: Bool
    /// The temporal blocks cross-attend to the first frame's context of each video.
    public var useSpatialContext: Bool
    public var mergeStrategy: MergeStrategy
    /// The temporal convolution kernel of the temporal res blocks, `[frames, height, width]`.
    public var videoKernelSize: [Int]
    /// The temporal transformer blocks have no cross-attention (`attn2`).
    public var disableTemporalCrossAttention: Bool
    /// Longest period of the sinusoidal frame-index embedding.
    public var maxTimeEmbedPeriod: Int

    public init(
        inChannels: Int = 8, outChannels: Int = 4, modelChannels: Int = 320, channelMult: [Int] = [1, 2, 4, 4],
        numResBlocks: [Int] = [2, 2, 2, 2], transformerDepth: [Int] = [1, 1, 1, 1, 1, 1, 0, 0],
        transformerDepthOutput: [Int] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], transformerDepthMiddle: Int = 1,
        contextDim: Int = 1024, numHeadChannels: Int = 64, useLinearInTransformer: Bool = true,
        admInChannels: Int? = 768, extraFFMixLayer: Bool = true, useSpatialContext: Bool = true,
        mergeStrategy: MergeStrategy = .learnedWithImages, videoKernelSize: [Int] = [3, 1, 1],
        disableTemporalCrossAttention: Bool = false, maxTimeEmbedPeriod: Int = 10000
    ) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.modelChannels = modelChannels
        self.channelMult = channelMult
        self.numResBlocks = numResBlocks
        self.transformerDepth = transformerDepth
        self.transformerDepthOutput = transformerDepthOutput
        self.transformerDepthMiddle = transformerDepthMiddle
        self.contextDim = contextDim
        self.numHeadChannels = numHeadChannels
        self.useLinearInTransformer = useLinearInTransformer
        self.admInChannels = admInChannels
        self.extraFFMixLayer = extraFFMixLayer
        self.useSpatialContext = useSpatialContext
        self.mergeStrategy = mergeStrategy
        self.videoKernelSize = videoKernelSize
        self.disableTemporalCrossAttention = disableTemporalCrossAttention
        self.maxTimeEmbedPeriod = maxTimeEmbedPeriod
    }

    /// SVD img2vid (and SVD-XT) as released (ComfyUI's `SVD_img2vid`).
    public static let svd = VideoUNetConfiguration()

    /// Width of the timestep embedding (4 × model channels).
    public var timeEmbedDim: Int { modelChannels * 4 }

    /// Heads of a transformer over `channels` channels.
    public func heads(channels: Int) -> Int { channels / numHeadChannels }
}
