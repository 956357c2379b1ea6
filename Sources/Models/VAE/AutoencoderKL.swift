import Checkpoints
import TensorCore
import TensorNN

/// The KL-regularised autoencoder of Stable Diffusion 1.x/2.x (Rombach et al., "High-Resolution Image
/// Synthesis with Latent Diffusion Models", 2022) as ComfyUI runs it: `Encoder` / `Decoder` of the LDM
/// code base, `quant_conv` / `post_quant_conv`, and the posterior's mode (its mean) as the encoding.
///
/// With ``AutoencoderKLConfiguration/videoKernelSize`` set the decoder is Stable Video Diffusion's temporal
/// decoder (``VAEDecoder`` with temporal res blocks; the encoder is unchanged): every batch that reaches the decoder
/// is decoded as one video, so the frames decoded together, and therefore the output, follow ComfyUI's batch split
/// (see ``decode(_:backend:)``).
///
/// Latents are in VAE space (no 0.18215 scaling); images are channels-first in the model's range, about
/// −1…1. ComfyUI's `VAEDecode` maps the decoder output with `clamp((x + 1)/2, 0, 1)` and `VAEEncode` maps
/// pixels with `2p − 1`; those belong to the nodes.
///
/// Batches are split by ComfyUI's memory estimate against ``memoryBudget``; an item whose estimate alone
/// exceeds the budget is decoded or encoded in tiles, as ComfyUI falls back to tiles when it runs out of
/// memory. Activations are float32; weights are held in ``weightType`` (see the initialisers).
public struct AutoencoderKL: Module {
    public let configuration: AutoencoderKLConfiguration
    /// What loading found (every key read; ignored keys listed).
    public let loadReport: ParameterLoadReport
    /// Bytes one batch may use by ComfyUI's estimate (`memory_used_decode` / `memory_used_encode` for float32;
    /// generous: the real peak on the CPU backend is well below it). `Int.max` turns the tiled fallback off.
    public var memoryBudget: Int = AutoencoderKL.defaultMemoryBudget

    /// 16 GiB: a 1024×1024 image decodes in one piece, 2048×2048 falls back to tiles.
    public static let defaultMemoryBudget = 16 << 30

    let encoder: VAEEncoder
    /// The image decoder, or SVD's temporal decoder.
    let decoder: VAEDecoder
    let quantConv: Conv2d?
    let postQuantConv: Conv2d?

    /// Builds the autoencoder from parameters opened by `loader` (keys `encoder.…`, `decoder.…`, `quant_conv.…`,
    /// `post_quant_conv.…` under the loader's prefix; for a temporal decoder also each decoder res block's
    /// `time_stack.…` and `mix_factor`, and `decoder.conv_out.time_mix_conv.…`).
    ///
    /// - Parameters:
    ///   - weightType: the dtype weights are kept in; weights stored otherwise are converted once here (float32
    ///     by default: ComfyUI runs the VAE in float32 on the CPU, and converting at every use would cost more).
    /// - Throws: ``ParameterLoadError`` when a key is missing, misshapen, unreadable or unexpected.
    public init(loader: ParameterLoader, configuration: AutoencoderKLConfiguration, weightType: DType = .float32) throws {
        let root = loader.root
        let loaded = Self.build(root, configuration: configuration)
        let report = try loader.finish(module: "VAE")
        guard loaded.parameters.values.contains(where: { $0.dtype != weightType }) else {
            self.init(configuration: configuration, loadReport: report, parts: loaded)
            return
        }
        let converted = ParameterLoader(source: loaded.parameters.mapValues { $0.converted(to: weightType) })
        let rebuilt = Self.build(converted.root, configuration: configuration)
        precondition(converted.currentReport.isClean, "VAE: converting the weights lost keys: \(converted.currentReport.summary())")
        self.init(configuration: configuration, loadReport: report, parts: rebuilt)
    }

    private struct Parts {
        var encoder: VAEEncoder, decoder: VAEDecoder, quantConv: Conv2d?, postQuantConv: Conv2d?

        var parameters: [String: Tensor] {
            var table = ParameterTableBuilder()
            table.add("encoder", encoder)
            table.add("decoder", decoder)
            if let quantConv { table.add("quant_conv", quantConv) }
            if let postQuantConv { table.add("post_quant_conv", postQuantConv) }
            return table.table
        }
    }

    private static func build(_ root: ParameterScope, configuration c: AutoencoderKLConfiguration) -> Parts {
        Parts(
            encoder: VAEEncoder(root("encoder"), configuration: c),
            decoder: VAEDecoder(root("decoder"), configuration: c),
            quantConv: c.useQuantConv
                ? Conv2d(root("quant_conv"), inChannels: 2 * c.zChannels, outChannels: 2 * c.embedDim, kernelSize: 1) : nil,
            postQuantConv: c.useQuantConv
                ? Conv2d(root("post_quant_conv"), inChannels: c.embedDim, outChannels: c.zChannels, kernelSize: 1) : nil)
    }

    private init(configuration: AutoencoderKLConfiguration, loadReport: ParameterLoadReport, parts: Parts) {
        self.configuration = configuration
        self.loadReport = loadReport
        encoder = parts.encoder
        decoder = parts.decoder
        quantConv = parts.quantConv
        postQuantConv = parts.postQuantConv
    }

    /// Parameters by key relative to the VAE prefix (`decoder.up.0.block.1.conv2.weight`, …).
    public var parameters: [String: Tensor] {
        Parts(encoder: encoder, decoder: decoder, quantConv: quantConv, postQuantConv: postQuantConv).parameters
    }

    /// The dtype the weights are held in (that of `decoder.conv_in.weight`).
    public var weightType: DType { decoder.convIn.weight.dtype }

    /// Pixels per latent element along each side: 2^(levels − 1), 8 for SD1.x/2.x (4 for the ×4 upscaler's VAE).
    public var compression: Int { 1 << max(0, configuration.channelMult.count - 1) }

    // MARK: Decode

    /// Decodes latents to images (ComfyUI's `VAE.decode` without the node's output mapping).
    ///
    /// The batch goes through the decoder in consecutive slices of `max(1, memoryBudget / decodeMemory(h, w))` items,
    /// ComfyUI's `batch_number` with ``memoryBudget`` standing for its free memory; an item whose estimate alone
    /// exceeds the budget makes the whole batch decode in tiles (``decodeTiled(_:tileSize:overlap:backend:)``).
    /// With a temporal decoder each slice is one video: the temporal layers mix the frames of a slice and never
    /// across slices, and in tiles every frame is a one-frame video. (ComfyUI on the CPU takes the machine's
    /// available memory as its free memory, so its slices, and thus its frames, depend on the machine; set
    /// ``memoryBudget`` to that figure to reproduce them, or to `Int.max` to decode a whole video at once.)
    ///
    /// - Parameter latent: `[B, embedDim, h, w]` in VAE space (for a temporal decoder, the frames of one video).
    /// - Returns: float32 `[B, outChannels, f·h, f·w]` in the model's range (about −1…1), not clamped.
    public func decode(_ latent: Tensor, backend: some Backend) -> Tensor {
        precondition(latent.rank == 4 && latent.shape[1] == configuration.embedDim,
                     "VAE decode: latent \(latent.shape) is not [B, \(configuration.embedDim), h, w]")
        let perItem = Self.decodeMemory(height: latent.shape[2], width: latent.shape[3])
        if perItem > memoryBudget {
            return decodeTiledLatent(latent, tileX: 64, tileY: 64, overlap: 16, backend: backend)
        }
        return Self.inBatches(latent, size: max(1, memoryBudget / perItem)) { decodeDirect($0, backend: backend) }
    }

    /// `first_stage_model.decode`: `post_quant_conv`, then the decoder (the temporal one takes the batch as one video).
    func decodeDirect(_ latent: Tensor, backend: some Backend) -> Tensor {
        let z = postQuantConv.map { $0(latent, backend: backend) } ?? latent
        return decoder(z, backend: backend)
    }

    // MARK: Encode

    /// Encodes images to the posterior's mean (ComfyUI's `VAE.encode` without the node's input mapping).
    ///
    /// Height and width that are not multiples of ``compression`` are first cropped as ComfyUI does
    /// (``cropToMultiple(_:of:)``).
    ///
    /// - Parameter image: `[B, inChannels, H, W]` in −1…1.
    /// - Returns: float32 `[B, embedDim, H/f, W/f]` in VAE space.
    public func encode(_ image: Tensor, backend: some Backend) -> Tensor {
        precondition(image.rank == 4 && image.shape[1] == configuration.inChannels,
                     "VAE encode: image \(image.shape) is not [B, \(configuration.inChannels), H, W]")
        let pixels = Self.cropToMultiple(image, of: compression)
        precondition(pixels.shape[2] > 0 && pixels.shape[3] > 0, "VAE encode: image \(image.shape) is smaller than \(compression) pixels")
        let perItem = Self.encodeMemory(height: pixels.shape[2], width: pixels.shape[3])
        if perItem > memoryBudget {
            return encodeTiledPixels(pixels, tileX: 512, tileY: 512, overlap: 64, backend: backend)
        }
        return Self.inBatches(pixels, size: max(1, memoryBudget / perItem)) { encodeDirect($0, backend: backend) }
    }

    /// `first_stage_model.encode` with the posterior's mode: the encoder, `quant_conv`, the mean half of the moments.
    func encodeDirect(_ image: Tensor, backend: some Backend) -> Tensor {
        let moments = encoder(image, backend: backend)
        guard let quantConv else { return backend.contiguous(moments.narrowed(dim: 1, start: 0, length: configuration.embedDim)) }
        // Only the mean's output channels of quant_conv are needed (the log-variance is dropped).
        let meanOnly = Conv2d(weight: quantConv.weight.narrowed(dim: 0, start: 0, length: configuration.embedDim),
                              bias: quantConv.bias?.narrowed(dim: 0, start: 0, length: configuration.embedDim))
        return meanOnly(moments, backend: backend)
    }

    /// ComfyUI's `vae_encode_crop_pixels` on channels-first images: crops height and width down to multiples of
    /// `multiple`, dropping `(size mod multiple)/2` (rounded down) at the top / left and the rest at the bottom /
    /// right. Returns `image` itself when nothing is cropped, else a view.
    ///
    /// - Parameter image: `[B, C, H, W]`.
    public static func cropToMultiple(_ image: Tensor, of multiple: Int) -> Tensor {
        precondition(image.rank == 4 && multiple >= 1, "crop: \(image.shape) to multiples of \(multiple)")
        let (height, width) = (image.shape[2], image.shape[3])
        let croppedHeight = height / multiple * multiple, croppedWidth = width / multiple * multiple
        guard croppedHeight != height || croppedWidth != width else { return image }
        return image.narrowed(dim: 2, start: (height % multiple) / 2, length: croppedHeight)
            .narrowed(dim: 3, start: (width % multiple) / 2, length: croppedWidth)
    }

    // MARK: Memory

    /// ComfyUI's decode estimate for one latent `[·, ·, h, w]` in float32: `2178 · h · w · 64 · 4` bytes.
    public static func decodeMemory(height: Int, width: Int) -> Int { 2178 * height * width * 64 * 4 }

    /// ComfyUI's encode estimate for one image `[·, ·, H, W]` in float32: `1767 · H · W · 4` bytes.
    public static func encodeMemory(height: Int, width: Int) -> Int { 1767 * height * width * 4 }

    /// Runs `body` on consecutive slices of at most `size` batch items and joins the results.
    static func inBatches(_ x: Tensor, size: Int, _ body: (Tensor) -> Tensor) -> Tensor {
        let count = x.shape[0]
        guard count > size else { return body(x) }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: count, by: size) {
            parts.append(body(x.narrowed(dim: 0, start: start, length: min(size, count - start))))
        }
        return Tensor.concatenated(parts, dim: 0)
    }
}
