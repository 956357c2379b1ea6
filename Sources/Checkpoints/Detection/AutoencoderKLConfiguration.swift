/// The KL autoencoder (VAE) of Stable Diffusion 1.x/2.x, LDM layout (`encoder.down.N.block.M`, …), and the same
/// encoder with Stable Video Diffusion's temporal decoder (``videoKernelSize`` set).
public struct AutoencoderKLConfiguration: Codable, Sendable, Equatable {
    /// Base channel count (`ch`).
    public var channels: Int
    /// Channel multiplier per level (`ch_mult`).
    public var channelMult: [Int]
    /// Res blocks per encoder level (the decoder has one more).
    public var numResBlocks: Int
    /// Latent channels at the encoder output / decoder input (`z_channels`).
    public var zChannels: Int
    /// Latent channels after `quant_conv` (`embed_dim`).
    public var embedDim: Int
    /// Image channels in and out.
    public var inChannels: Int
    public var outChannels: Int
    /// Whether `quant_conv` / `post_quant_conv` exist.
    public var useQuantConv: Bool
    /// The temporal convolutions' kernel `[t, h, w]` when the decoder is SVD's `VideoDecoder` (res blocks with a
    /// `time_stack` and `mix_factor`, `conv_out.time_mix_conv`); `nil` for the image decoder. Absent in JSON
    /// written before the temporal decoder existed, which therefore still decodes as an image decoder.
    public var videoKernelSize: [Int]?

    /// Whether the decoder is the temporal `VideoDecoder` (a batch decodes as one video).
    public var temporalDecoder: Bool { videoKernelSize != nil }

    public init(
        channels: Int = 128, channelMult: [Int] = [1, 2, 4, 4], numResBlocks: Int = 2, zChannels: Int = 4,
        embedDim: Int = 4, inChannels: Int = 3, outChannels: Int = 3, useQuantConv: Bool = true,
        videoKernelSize: [Int]? = nil
    ) {
        self.channels = channels
        self.channelMult = channelMult
        self.numResBlocks = numResBlocks
        self.zChannels = zChannels
        self.embedDim = embedDim
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.useQuantConv = useQuantConv
        self.videoKernelSize = videoKernelSize
    }

    /// The SD1.x VAE (f = 8, 4 latent channels).
    public static let sd1 = AutoencoderKLConfiguration()

    /// Stable Video Diffusion's VAE as ComfyUI builds it: the SD1.x encoder without `quant_conv`, the temporal
    /// decoder with `[3, 1, 1]` kernels.
    public static let svd = AutoencoderKLConfiguration(useQuantConv: false, videoKernelSize: [3, 1, 1])

    /// The key whose presence makes ComfyUI build the temporal decoder (`VAE.__init__`).
    public static let temporalMarker = "decoder.mid.block_1.mix_factor"

    /// Reads the configuration off shapes: `ch` and image channels from `encoder.conv_in`, levels and res
    /// blocks by counting `encoder.down.N.block.M`, each multiplier from its level's last res block width,
    /// `z_channels` from `decoder.conv_in`, `embed_dim` from `quant_conv`. The decoder is temporal when
    /// `decoder.mid.block_1.mix_factor` exists (ComfyUI's rule); its kernel is read off
    /// `decoder.mid.block_1.time_stack.in_layers.2.weight`.
    ///
    /// - Returns: nil when there is no `encoder.conv_in.weight` under `prefix`.
    /// - Throws: `CheckpointError` `.unrecognisedModel` when a tensor the layout implies is missing or misshapen.
    public static func detect(in shapes: StateDictShapes, prefix: String) throws(CheckpointError) -> AutoencoderKLConfiguration? {
        let convIn = prefix + "encoder.conv_in.weight"
        guard shapes.contains(convIn) else { return nil }
        let channels = try shapes.dimension(convIn, 0)
        let levels = shapes.countBlocks(prefix + "encoder.down.")
        let numResBlocks = shapes.countBlocks(prefix + "encoder.down.0.block.")
        guard channels > 0, levels > 0, numResBlocks > 0 else {
            throw CheckpointError(.unrecognisedModel, "VAE encoder has \(levels) levels of \(numResBlocks) res blocks", path: shapes.source, key: convIn)
        }
        var mult: [Int] = []
        for level in 0..<levels {
            mult.append(try shapes.dimension(prefix + "encoder.down.\(level).block.\(numResBlocks - 1).conv2.weight", 0) / channels)
        }
        let zChannels = try shapes.dimension(prefix + "decoder.conv_in.weight", 1)
        let quant = prefix + "quant_conv.weight"
        var videoKernelSize: [Int]?
        if shapes.contains(prefix + temporalMarker) {
            let timeConv = prefix + "decoder.mid.block_1.time_stack.in_layers.2.weight"
            guard let shape = shapes[timeConv], shape.count == 5, shape[2...].allSatisfy({ $0 > 0 && $0 % 2 == 1 }) else {
                throw CheckpointError(.unrecognisedModel, "temporal VAE decoder without a 3-D time_stack convolution "
                                      + "of odd kernel (shape \(shapes[timeConv].map { "\($0)" } ?? "absent"))",
                                      path: shapes.source, key: timeConv)
            }
            videoKernelSize = Array(shape[2...])
        }
        return AutoencoderKLConfiguration(
            channels: channels, channelMult: mult, numResBlocks: numResBlocks, zChannels: zChannels,
            embedDim: shapes.contains(quant) ? try shapes.dimension(quant, 0) / 2 : zChannels,
            inChannels: try shapes.dimension(convIn, 1),
            outChannels: try shapes.dimension(prefix + "decoder.conv_out.weight", 0),
            useQuantConv: shapes.contains(quant), videoKernelSize: videoKernelSize)
    }

    /// Every parameter key (after `prefix`) with its shape.
    public func expectedKeys(prefix: String = "first_stage_model.") -> [String: [Int]] {
        var t = ParameterTable()
        func conv3d(_ q: String, _ cin: Int, _ cout: Int, kernel: [Int]) {
            t.add(q + ".weight", [cout, cin] + kernel)
            t.add(q + ".bias", [cout])
        }
        func res(_ q: String, _ cin: Int, _ cout: Int, temporal: Bool = false) {
            t.norm(q + "norm1", cin)
            t.conv2d(q + "conv1", cin, cout, kernel: 3)
            t.norm(q + "norm2", cout)
            t.conv2d(q + "conv2", cout, cout, kernel: 3)
            if cin != cout { t.conv2d(q + "nin_shortcut", cin, cout, kernel: 1) }
            guard temporal, let kernel = videoKernelSize else { return }
            t.add(q + "mix_factor", [1])
            t.norm(q + "time_stack.in_layers.0", cout)
            conv3d(q + "time_stack.in_layers.2", cout, cout, kernel: kernel)
            t.norm(q + "time_stack.out_layers.0", cout)
            conv3d(q + "time_stack.out_layers.3", cout, cout, kernel: kernel)
        }
        func middle(_ q: String, _ c: Int, temporal: Bool = false) {
            res(q + "block_1.", c, c, temporal: temporal)
            t.norm(q + "attn_1.norm", c)
            for n in ["q", "k", "v", "proj_out"] { t.conv2d(q + "attn_1." + n, c, c, kernel: 1) }
            res(q + "block_2.", c, c, temporal: temporal)
        }
        let e = prefix + "encoder."
        t.conv2d(e + "conv_in", inChannels, channels, kernel: 3)
        var c = channels
        for (level, m) in channelMult.enumerated() {
            for j in 0..<numResBlocks {
                res(e + "down.\(level).block.\(j).", c, channels * m)
                c = channels * m
            }
            if level != channelMult.count - 1 { t.conv2d(e + "down.\(level).downsample.conv", c, c, kernel: 3) }
        }
        middle(e + "mid.", c)
        t.norm(e + "norm_out", c)
        t.conv2d(e + "conv_out", c, 2 * zChannels, kernel: 3)
        if useQuantConv {
            t.conv2d(prefix + "quant_conv", 2 * zChannels, 2 * embedDim, kernel: 1)
            t.conv2d(prefix + "post_quant_conv", embedDim, zChannels, kernel: 1)
        }
        let d = prefix + "decoder."
        c = channels * (channelMult.last ?? 1)
        t.conv2d(d + "conv_in", zChannels, c, kernel: 3)
        middle(d + "mid.", c, temporal: true)
        for level in channelMult.indices.reversed() {
            for j in 0...numResBlocks {
                res(d + "up.\(level).block.\(j).", c, channels * channelMult[level], temporal: true)
                c = channels * channelMult[level]
            }
            if level != 0 { t.conv2d(d + "up.\(level).upsample.conv", c, c, kernel: 3) }
        }
        t.norm(d + "norm_out", c)
        t.conv2d(d + "conv_out", c, outChannels, kernel: 3)
        if let kernel = videoKernelSize { conv3d(d + "conv_out.time_mix_conv", outChannels, outChannels, kernel: kernel) }
        return t.shapes
    }
}
