/// The UNet of Stable Diffusion 1.x (the LDM "openaimodel" UNet with spatial transformers).
///
/// Field names follow the LDM/ComfyUI `unet_config` so that a detected configuration can be compared
/// with what ComfyUI prints. Per-block lists follow ComfyUI's conventions: `transformerDepth` has one
/// entry per input res block, `transformerDepthOutput` one per output block.
public struct SD1UNetConfiguration: Codable, Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var modelChannels: Int
    /// Channel multiplier per level (resolution).
    public var channelMult: [Int]
    /// Res blocks per level on the input side (the output side has one more per level).
    public var numResBlocks: [Int]
    /// Transformer depth of each input res block, level by level (0 = no attention).
    public var transformerDepth: [Int]
    /// Transformer depth of each output block, listed in mirror order as ComfyUI does: entry `i` belongs
    /// to `output_blocks.(count − 1 − i)`, so the list runs from the highest resolution down and the
    /// model pops it from the end while building the output side.
    public var transformerDepthOutput: [Int]
    /// Middle block: ≥ 1 = res, transformer of this depth, res; −1 = a lone res block; −2 = no middle block.
    public var transformerDepthMiddle: Int
    /// Width of the cross-attention context (CLIP-L hidden size, 768).
    public var contextDim: Int
    /// Attention heads per transformer (fixed 8 for SD1.x); −1 when `numHeadChannels` decides.
    public var numHeads: Int
    /// Channels per head, or −1 when `numHeads` decides.
    public var numHeadChannels: Int
    /// Linear (SD2+/SDXL) rather than 1×1 conv `proj_in`/`proj_out`.
    public var useLinearInTransformer: Bool
    /// Width of the class/ADM embedding input (`label_emb`), nil when absent (SD1.x).
    public var admInChannels: Int?

    public init(
        inChannels: Int = 4, outChannels: Int = 4, modelChannels: Int = 320, channelMult: [Int] = [1, 2, 4, 4],
        numResBlocks: [Int] = [2, 2, 2, 2], transformerDepth: [Int] = [1, 1, 1, 1, 1, 1, 0, 0],
        transformerDepthOutput: [Int] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], transformerDepthMiddle: Int = 1,
        contextDim: Int = 768, numHeads: Int = 8, numHeadChannels: Int = -1,
        useLinearInTransformer: Bool = false, admInChannels: Int? = nil
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
        self.numHeads = numHeads
        self.numHeadChannels = numHeadChannels
        self.useLinearInTransformer = useLinearInTransformer
        self.admInChannels = admInChannels
    }

    /// The SD1.5 UNet as released (859,520,964 parameters).
    public static let sd15 = SD1UNetConfiguration()

    /// Width of the timestep embedding (4 × model channels).
    public var timeEmbedDim: Int { modelChannels * 4 }

    /// Levels whose input res blocks carry a transformer (ComfyUI's "attention levels").
    public var attentionLevels: [Int] {
        var levels: [Int] = []
        var block = 0
        for (level, count) in numResBlocks.enumerated() {
            if transformerDepth[block..<(block + count)].contains(where: { $0 > 0 }) { levels.append(level) }
            block += count
        }
        return levels
    }

    /// Heads of a transformer over `channels` channels.
    public func heads(channels: Int) -> Int {
        numHeadChannels > 0 ? channels / numHeadChannels : numHeads
    }
}
