import Diffusion
import Models
import TensorCore
import Workflow

/// Pixel ↔ latent conversions of ComfyUI's `comfy.sd.VAE`, shared by the VAE nodes.
enum VAEPixels {
    /// IMAGE `[B, H, W, C]` in [0, 1] → the autoencoder's input `[B, 3, H, W]` in [−1, 1] (the first three
    /// channels). The autoencoder crops it to a multiple of its compression, as `vae_encode_crop_pixels` does.
    static func input(_ image: Tensor, downscale: Int) throws -> Tensor {
        guard image.shape[3] >= 3 else { throw NodeError("VAE Encode needs RGB images (got \(image.shape[3]) channels)") }
        guard image.shape[1] >= downscale, image.shape[2] >= downscale else {
            throw NodeError("The image is \(image.shape[2])x\(image.shape[1]); the VAE needs at least \(downscale)x\(downscale) pixels")
        }
        return image.narrowed(dim: 3, start: 0, length: 3).permuted([0, 3, 1, 2]).mapFloats { $0 * 2 - 1 }
    }

    /// The autoencoder's output `[B, 3, H, W]` → IMAGE `[B, H, W, 3]`: `clamp((x + 1) / 2, 0, 1)`.
    static func output(_ decoded: Tensor) -> Tensor {
        decoded.permuted([0, 2, 3, 1]).mapFloats { min(max(($0 + 1) / 2, 0), 1) }
    }
}

extension Tensor {
    /// A contiguous float32 copy with `transform` applied to every element.
    func mapFloats(_ transform: (Float) -> Float) -> Tensor {
        var out = contiguous(as: .float32, forceCopy: true)
        out.withMutableFloats { buffer in
            for i in buffer.indices { buffer[i] = transform(buffer[i]) }
        }
        return out
    }
}

/// ComfyUI's `VAEDecode` and `VAEDecodeTiled`.
enum VAEDecodeNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "VAEDecode", displayName: "VAE Decode",
            description: "Decodes latent images back into pixel space images.", category: "latent", pythonModule: "nodes",
            required: [
                InputSpec("samples", .socket(SocketType.latent), tooltip: "The latent to be decoded."),
                InputSpec("vae", .socket(SocketType.vae), tooltip: "The VAE model used for decoding the latent."),
            ],
            outputs: [OutputSpec(SocketType.image, tooltip: "The decoded image.")]
        )
        return NodeDefinition(schema: schema) { inv in
            let (latent, _, loaded) = try inputs(inv, env: env)
            var model = loaded
            // The autoencoder splits the batch by its memory estimate (and tiles an item that alone is too large).
            // A temporal decoder mixes the frames of each slice, so, as ComfyUI does, slices are as large as the free
            // memory allows: the whole video on any machine with room for it.
            if model.configuration.temporalDecoder {
                model.memoryBudget = max(model.memoryBudget, Int(clamping: SystemMemory.info().available))
            }
            let image = VAEPixels.output(model.decode(latent, backend: env.backend))
            return NodeResult(outputs: [.tensor(image)])
        }
    }

    static func tiledDefinition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "VAEDecodeTiled", displayName: "VAE Decode (Tiled)", category: "_for_testing", pythonModule: "nodes",
            required: [
                InputSpec("samples", .socket(SocketType.latent)),
                InputSpec("vae", .socket(SocketType.vae)),
                InputSpec("tile_size", .int(IntOptions(default: 512, min: 64, max: .int(4096), step: 32))),
                InputSpec("overlap", .int(IntOptions(default: 64, min: 0, max: .int(4096), step: 32))),
                InputSpec("temporal_size", .int(IntOptions(default: 64, min: 8, max: .int(4096), step: 4)),
                          tooltip: "Only used for video VAEs: Amount of frames to decode at a time."),
                InputSpec("temporal_overlap", .int(IntOptions(default: 8, min: 4, max: .int(4096), step: 4)),
                          tooltip: "Only used for video VAEs: Amount of frames to overlap."),
            ],
            outputs: [OutputSpec(SocketType.image)]
        )
        return NodeDefinition(schema: schema) { inv in
            let (latent, vae, model) = try inputs(inv, env: env)
            // Pixels, as the node's widgets: the model reduces the overlap and converts to latent tiles as ComfyUI does.
            let tileSize = Int(try inv.int("tile_size")), overlap = Int(try inv.int("overlap"))
            guard tileSize >= 2 * vae.downscale, overlap >= 0 else {
                throw NodeError("tile_size must be at least \(2 * vae.downscale) and overlap not negative")
            }
            let image = VAEPixels.output(model.decodeTiled(latent, tileSize: tileSize, overlap: overlap, backend: env.backend))
            return NodeResult(outputs: [.tensor(image)])
        }
    }

    static func inputs(_ inv: NodeInvocation, env: NodeEnvironment) throws -> (Tensor, VAEHandle, AutoencoderKL) {
        let latent = try inv.latent("samples")
        let vae = try inv.object("vae", as: VAEHandle.self)
        let s = latent.samples.shape
        guard s[1] == vae.configuration.embedDim else {
            throw NodeError("The latent has \(s[1]) channels; this VAE decodes \(vae.configuration.embedDim)", type: "loom.LatentMismatch")
        }
        try env.checkPixels(width: s[3] * vae.downscale, height: s[2] * vae.downscale, batch: s[0])
        try inv.context.checkInterrupted()
        do {
            return (latent.samples, vae, try vae.autoencoder())
        } catch {
            throw NodeError(error, loading: "the VAE")
        }
    }
}

/// ComfyUI's `VAEEncode` and `VAEEncodeTiled`.
enum VAEEncodeNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "VAEEncode", displayName: "VAE Encode", category: "latent", pythonModule: "nodes",
            required: [InputSpec("pixels", .socket(SocketType.image)), InputSpec("vae", .socket(SocketType.vae))],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            let (pixels, model) = try inputs(inv)
            let samples = model.encode(pixels, backend: env.backend)
            return NodeResult(outputs: [.object(Latent(samples: samples))])
        }
    }

    static func tiledDefinition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "VAEEncodeTiled", displayName: "VAE Encode (Tiled)", category: "_for_testing", pythonModule: "nodes",
            required: [
                InputSpec("pixels", .socket(SocketType.image)),
                InputSpec("vae", .socket(SocketType.vae)),
                InputSpec("tile_size", .int(IntOptions(default: 512, min: 64, max: .int(4096), step: 64))),
                InputSpec("overlap", .int(IntOptions(default: 64, min: 0, max: .int(4096), step: 32))),
                InputSpec("temporal_size", .int(IntOptions(default: 64, min: 8, max: .int(4096), step: 4)),
                          tooltip: "Only used for video VAEs: Amount of frames to encode at a time."),
                InputSpec("temporal_overlap", .int(IntOptions(default: 8, min: 4, max: .int(4096), step: 4)),
                          tooltip: "Only used for video VAEs: Amount of frames to overlap."),
            ],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            let (pixels, model) = try inputs(inv)
            let tileSize = Int(try inv.int("tile_size")), overlap = Int(try inv.int("overlap"))
            guard tileSize >= 16, overlap >= 0 else { throw NodeError("tile_size must be at least 16 and overlap not negative") }
            let samples = model.encodeTiled(pixels, tileSize: tileSize, overlap: overlap, backend: env.backend)
            return NodeResult(outputs: [.object(Latent(samples: samples))])
        }
    }

    static func inputs(_ inv: NodeInvocation) throws -> (Tensor, AutoencoderKL) {
        let image = try inv.image("pixels")
        let vae = try inv.object("vae", as: VAEHandle.self)
        let pixels = try VAEPixels.input(image, downscale: vae.downscale)
        try inv.context.checkInterrupted()
        do {
            return (pixels, try vae.autoencoder())
        } catch {
            throw NodeError(error, loading: "the VAE")
        }
    }
}
