import Checkpoints
import TensorCore
import TensorNN

/// The LDM autoencoder's encoder: `conv_in`, per level `numResBlocks` res blocks and (except at the last
/// level) a downsample, the middle block, then GroupNorm, SiLU and `conv_out` to `2·zChannels` channels
/// (mean and log-variance of the posterior).
struct VAEEncoder: Module {
    struct Level: Module {
        let blocks: [VAEResnetBlock]
        let downsample: VAEDownsample?

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            for (j, block) in blocks.enumerated() { table.add("block.\(j)", block) }
            if let downsample { table.add("downsample", downsample) }
            return table.table
        }
    }

    let convIn: Conv2d
    let levels: [Level]
    let mid: VAEMidBlock
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ scope: ParameterScope, configuration: AutoencoderKLConfiguration) {
        let base = configuration.channels
        convIn = Conv2d(scope("conv_in"), inChannels: configuration.inChannels, outChannels: base, kernelSize: 3, padding: 1)
        var channels = base
        var levels: [Level] = []
        for (index, multiplier) in configuration.channelMult.enumerated() {
            let level = scope("down.\(index)")
            var blocks: [VAEResnetBlock] = []
            for j in 0..<configuration.numResBlocks {
                blocks.append(VAEResnetBlock(level("block.\(j)"), inChannels: channels, outChannels: base * multiplier))
                channels = base * multiplier
            }
            let isLast = index == configuration.channelMult.count - 1
            levels.append(Level(blocks: blocks, downsample: isLast ? nil : VAEDownsample(level("downsample"), channels: channels)))
        }
        self.levels = levels
        mid = VAEMidBlock(scope("mid"), channels: channels)
        normOut = VAEResnetBlock.normalization(scope("norm_out"), channels: channels)
        convOut = Conv2d(scope("conv_out"), inChannels: channels, outChannels: 2 * configuration.zChannels, kernelSize: 3,
                         padding: 1)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("conv_in", convIn)
        for (index, level) in levels.enumerated() { table.add("down.\(index)", level) }
        table.add("mid", mid)
        table.add("norm_out", normOut)
        table.add("conv_out", convOut)
        return table.table
    }

    /// `image[B, in, H, W]` → moments `[B, 2·zChannels, H/f, W/f]` (f = 2^(levels−1)).
    func callAsFunction(_ image: Tensor, backend: some Backend) -> Tensor {
        var h = convIn(image, backend: backend)
        for level in levels {
            for block in level.blocks { h = block(h, backend: backend) }
            if let downsample = level.downsample { h = downsample(h, backend: backend) }
        }
        h = mid(h, backend: backend)
        h = normOut(h, then: .silu, backend: backend)
        return convOut(h, backend: backend)
    }
}
