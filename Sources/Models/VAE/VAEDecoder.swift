import Checkpoints
import TensorCore
import TensorNN

/// The LDM autoencoder's decoder: `conv_in` from `zChannels`, the middle block, then from the deepest level up
/// `numResBlocks + 1` res blocks and (except at level 0) an upsample, then GroupNorm, SiLU and `conv_out`.
struct VAEDecoder: Module {
    struct Level: Module {
        let blocks: [VAEResnetBlock]
        let upsample: VAEUpsample?

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            for (j, block) in blocks.enumerated() { table.add("block.\(j)", block) }
            if let upsample { table.add("upsample", upsample) }
            return table.table
        }
    }

    let convIn: Conv2d
    let mid: VAEMidBlock
    /// Indexed by level as in the checkpoint (`up.0` is the full-resolution level); run from the last to the first.
    let levels: [Level]
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ scope: ParameterScope, configuration: AutoencoderKLConfiguration) {
        let base = configuration.channels
        var channels = base * (configuration.channelMult.last ?? 1)
        convIn = Conv2d(scope("conv_in"), inChannels: configuration.zChannels, outChannels: channels, kernelSize: 3, padding: 1)
        mid = VAEMidBlock(scope("mid"), channels: channels)
        var levels: [Level?] = Array(repeating: nil, count: configuration.channelMult.count)
        for index in configuration.channelMult.indices.reversed() {
            let level = scope("up.\(index)")
            let width = base * configuration.channelMult[index]
            var blocks: [VAEResnetBlock] = []
            for j in 0...configuration.numResBlocks {
                blocks.append(VAEResnetBlock(level("block.\(j)"), inChannels: channels, outChannels: width))
                channels = width
            }
            levels[index] = Level(blocks: blocks, upsample: index == 0 ? nil : VAEUpsample(level("upsample"), channels: channels))
        }
        self.levels = levels.map { $0! }
        normOut = VAEResnetBlock.normalization(scope("norm_out"), channels: channels)
        convOut = Conv2d(scope("conv_out"), inChannels: channels, outChannels: configuration.outChannels, kernelSize: 3,
                         padding: 1)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("conv_in", convIn)
        table.add("mid", mid)
        for (index, level) in levels.enumerated() { table.add("up.\(index)", level) }
        table.add("norm_out", normOut)
        table.add("conv_out", convOut)
        return table.table
    }

    /// `z[B, zChannels, h, w]` → `[B, outChannels, f·h, f·w]`.
    func callAsFunction(_ z: Tensor, backend: some Backend) -> Tensor {
        var h = convIn(z, backend: backend)
        h = mid(h, backend: backend)
        for level in levels.reversed() {
            for block in level.blocks { h = block(h, backend: backend) }
            if let upsample = level.upsample { h = upsample(h, backend: backend) }
        }
        h = backend.unary(.silu, normOut(h, backend: backend))
        return convOut(h, backend: backend)
    }
}
