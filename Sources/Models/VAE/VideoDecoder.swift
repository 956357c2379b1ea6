import Checkpoints
import TensorCore
import TensorNN

/// Stable Video Diffusion's temporal decoder (`VideoDecoder` of ComfyUI's `temporal_ae`, "conv-only" time mode):
/// the layout of ``VAEDecoder`` with every res block a ``TemporalResnetBlock`` and `conv_out` a ``VideoConvOut``;
/// `conv_in`, the attention and the upsamples stay per frame.
///
/// The whole batch it is given is one video (ComfyUI passes no frame count, so each block takes the batch size):
/// which frames go through together decides what the temporal layers mix.
struct VideoDecoder: Module {
    struct Level: Module {
        let blocks: [TemporalResnetBlock]
        let upsample: VAEUpsample?

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            for (j, block) in blocks.enumerated() { table.add("block.\(j)", block) }
            if let upsample { table.add("upsample", upsample) }
            return table.table
        }
    }

    let convIn: Conv2d
    let mid: VideoMidBlock
    /// Indexed by level as in the checkpoint (`up.0` is the full-resolution level); run from the last to the first.
    let levels: [Level]
    let normOut: GroupNorm
    let convOut: VideoConvOut

    init(_ scope: ParameterScope, configuration: AutoencoderKLConfiguration) {
        precondition(configuration.videoKernelSize != nil, "VideoDecoder: the configuration has no video kernel size")
        let kernel = configuration.videoKernelSize ?? []
        let base = configuration.channels
        var channels = base * (configuration.channelMult.last ?? 1)
        convIn = Conv2d(scope("conv_in"), inChannels: configuration.zChannels, outChannels: channels, kernelSize: 3, padding: 1)
        mid = VideoMidBlock(scope("mid"), channels: channels, kernelSize: kernel)
        var levels: [Level?] = Array(repeating: nil, count: configuration.channelMult.count)
        for index in configuration.channelMult.indices.reversed() {
            let level = scope("up.\(index)")
            let width = base * configuration.channelMult[index]
            var blocks: [TemporalResnetBlock] = []
            for j in 0...configuration.numResBlocks {
                blocks.append(TemporalResnetBlock(level("block.\(j)"), inChannels: channels, outChannels: width, kernelSize: kernel))
                channels = width
            }
            levels[index] = Level(blocks: blocks, upsample: index == 0 ? nil : VAEUpsample(level("upsample"), channels: channels))
        }
        self.levels = levels.map { $0! }
        normOut = VAEResnetBlock.normalization(scope("norm_out"), channels: channels)
        convOut = VideoConvOut(scope("conv_out"), inChannels: channels, outChannels: configuration.outChannels, kernelSize: kernel)
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

    /// `z[T, zChannels, h, w]`, the T frames of one video → `[T, outChannels, f·h, f·w]`.
    func callAsFunction(_ z: Tensor, backend: some Backend) -> Tensor {
        let frames = z.shape[0]
        var h = convIn(z, backend: backend)
        h = mid(h, frames: frames, backend: backend)
        for level in levels.reversed() {
            for block in level.blocks { h = block(h, frames: frames, backend: backend) }
            if let upsample = level.upsample { h = upsample(h, backend: backend) }
        }
        h = backend.unary(.silu, normOut(h, backend: backend))
        return convOut(h, frames: frames, backend: backend)
    }
}
