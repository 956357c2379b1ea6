import Checkpoints
import TensorCore
import TensorNN

/// The LDM autoencoder's decoder: `conv_in` from `zChannels`, the middle block, then from the deepest level up
/// `numResBlocks + 1` res blocks and (except at level 0) an upsample, then GroupNorm, SiLU and `conv_out`.
///
/// With a video kernel in the configuration it is Stable Video Diffusion's temporal decoder (`VideoDecoder` of
/// ComfyUI's `temporal_ae`, "conv-only" time mode): every res block a ``TemporalResnetBlock`` and `conv_out` a
/// ``VideoConvOut``, while `conv_in`, the attention and the upsamples stay per frame. The whole batch it is given is
/// then one video (ComfyUI passes no frame count, so each block takes the batch size): which frames go through
/// together decides what the temporal layers mix.
struct VAEDecoder: Module {
    struct Level: Module {
        let blocks: [VAEDecoderBlock]
        let upsample: VAEUpsample?

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            for (j, block) in blocks.enumerated() { table.add("block.\(j)", block) }
            if let upsample { table.add("upsample", upsample) }
            return table.table
        }
    }

    /// The output convolution: per image, or per frame and then across frames.
    enum OutputConvolution: Module {
        case image(Conv2d)
        case video(VideoConvOut)

        var parameters: [String: Tensor] {
            switch self {
            case .image(let conv): conv.parameters
            case .video(let conv): conv.parameters
            }
        }

        /// The image convolution's weight (what fixes the decoder's weight dtype).
        var weight: Tensor {
            switch self {
            case .image(let conv): conv.weight
            case .video(let conv): conv.conv.weight
            }
        }
    }

    let convIn: Conv2d
    let mid: VAEMidBlock
    /// Indexed by level as in the checkpoint (`up.0` is the full-resolution level); run from the last to the first.
    let levels: [Level]
    let normOut: GroupNorm
    let convOut: OutputConvolution

    init(_ scope: ParameterScope, configuration: AutoencoderKLConfiguration) {
        let kernel = configuration.videoKernelSize
        let base = configuration.channels
        var channels = base * (configuration.channelMult.last ?? 1)
        convIn = Conv2d(scope("conv_in"), inChannels: configuration.zChannels, outChannels: channels, kernelSize: 3, padding: 1)
        mid = VAEMidBlock(scope("mid"), channels: channels, videoKernel: kernel)
        var levels: [Level?] = Array(repeating: nil, count: configuration.channelMult.count)
        for index in configuration.channelMult.indices.reversed() {
            let level = scope("up.\(index)")
            let width = base * configuration.channelMult[index]
            var blocks: [VAEDecoderBlock] = []
            for j in 0...configuration.numResBlocks {
                blocks.append(VAEDecoderBlock(level("block.\(j)"), inChannels: channels, outChannels: width, videoKernel: kernel))
                channels = width
            }
            levels[index] = Level(blocks: blocks, upsample: index == 0 ? nil : VAEUpsample(level("upsample"), channels: channels))
        }
        self.levels = levels.map { $0! }
        normOut = VAEResnetBlock.normalization(scope("norm_out"), channels: channels)
        if let kernel {
            convOut = .video(VideoConvOut(scope("conv_out"), inChannels: channels, outChannels: configuration.outChannels,
                                          kernelSize: kernel))
        } else {
            convOut = .image(Conv2d(scope("conv_out"), inChannels: channels, outChannels: configuration.outChannels,
                                    kernelSize: 3, padding: 1))
        }
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

    /// `z[B, zChannels, h, w]` → `[B, outChannels, f·h, f·w]` (for the temporal decoder, the B frames of one video).
    func callAsFunction(_ z: Tensor, backend: some Backend) -> Tensor {
        let frames = z.shape[0]
        var h = convIn(z, backend: backend)
        h = mid(h, frames: frames, backend: backend)
        // The image decoder's up levels are a chain of convolutions over ever larger maps: run them in the layout the
        // backend's convolutions prefer (channels-last on the CPU), which the norms, activations, sums and upsampling
        // keep. (The temporal decoder's 3-d layers take channels-first videos, so it stays as it is.)
        if case .image = convOut { h = backend.channelsLast(h) }
        for level in levels.reversed() {
            for block in level.blocks { h = block(h, frames: frames, backend: backend) }
            if let upsample = level.upsample { h = upsample(h, backend: backend) }
        }
        h = normOut(h, then: .silu, backend: backend)
        switch convOut {
        case .image(let conv): return backend.contiguous(conv(h, backend: backend))
        case .video(let conv): return conv(h, frames: frames, backend: backend)
        }
    }
}
