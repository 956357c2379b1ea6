import Checkpoints
import Diffusion
import MediaIO
import Models
import TensorCore
import Workflow

/// Socket types of the image-to-video nodes.
extension SocketType {
    public static let clipVision = "CLIP_VISION"
    public static let clipVisionOutput = "CLIP_VISION_OUTPUT"
}

/// Stable Video Diffusion's nodes: `ImageOnlyCheckpointLoader` (an SVD checkpoint's MODEL, CLIP_VISION and VAE)
/// and `SVD_img2vid_Conditioning` (the init image as CLIP-vision embedding and concatenated latent, plus an empty
/// video latent).
enum SVDNodes {
    static func checkpointLoader(_ env: NodeEnvironment) -> NodeDefinition {
        let folders = env.modelFolders, models = env.models, weightType = env.unetWeightType
        let schema = NodeSchema(
            name: "ImageOnlyCheckpointLoader", displayName: "Load Checkpoint Image Only (img2vid model)",
            category: "loaders/video_models", pythonModule: "comfy_extras.nodes_video_model",
            required: [InputSpec("ckpt_name", .combo(ComboOptions(dynamic: { folders.files(in: "checkpoints") ?? [] })))],
            outputs: [OutputSpec(SocketType.model), OutputSpec(SocketType.clipVision), OutputSpec(SocketType.vae)]
        )
        return NodeDefinition(schema: schema) { inv in
            let name = try inv.string("ckpt_name")
            guard let file = folders.modelFile("checkpoints", name: name) else {
                throw NodeError("Checkpoint not found: \(name)", type: "loom.ModelLoadError.fileNotFound")
            }
            do {
                let loaded = try models.checkpoint(file)
                guard case .svd(let configuration) = loaded.detected else {
                    throw NodeError("\(name) has no CLIP vision model (not an image-to-video checkpoint): load it with CheckpointLoaderSimple",
                                    type: "loom.ModelLoadError.unsupportedModel")
                }
                let checkpoint = CheckpointHandle(loaded)
                let clipVision = CLIPVisionHandle(file: file, prefix: SVDCheckpointConfiguration.Component.clipVision.prefix,
                                                  configuration: configuration.clipVision, cache: models)
                return NodeResult(outputs: [
                    .object(ModelHandle(checkpoint: checkpoint, cache: models, weightType: weightType)),
                    .object(clipVision),
                    .object(VAEHandle(checkpoint: checkpoint, cache: models)),
                ])
            } catch {
                throw NodeError(error, loading: "checkpoint \(name)")
            }
        }
    }

    /// torch's default CPU generator seed: ComfyUI draws the augmentation noise from the global generator, which
    /// in a fresh process starts here.
    static let augmentationSeed: UInt64 = 67_280_421_310_721

    static func conditioning(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SVD_img2vid_Conditioning", displayName: "SVD_img2vid_Conditioning",
            category: "conditioning/video_models", pythonModule: "comfy_extras.nodes_video_model",
            required: [
                InputSpec("clip_vision", .socket(SocketType.clipVision)),
                InputSpec("init_image", .socket(SocketType.image)),
                InputSpec("vae", .socket(SocketType.vae)),
                InputSpec("width", .int(IntOptions(default: 1024, min: 16, max: .int(maxResolution), step: 8))),
                InputSpec("height", .int(IntOptions(default: 576, min: 16, max: .int(maxResolution), step: 8))),
                InputSpec("video_frames", .int(IntOptions(default: 14, min: 1, max: .int(4096)))),
                InputSpec("motion_bucket_id", .int(IntOptions(default: 127, min: 1, max: .int(1023)))),
                InputSpec("fps", .int(IntOptions(default: 6, min: 1, max: .int(1024)))),
                InputSpec("augmentation_level", .float(FloatOptions(default: 0, min: 0, max: 10, step: 0.01))),
            ],
            outputs: [OutputSpec(SocketType.conditioning, name: "positive"), OutputSpec(SocketType.conditioning, name: "negative"),
                      OutputSpec(SocketType.latent, name: "latent")]
        )
        return NodeDefinition(schema: schema) { inv in
            let clipVision = try inv.object("clip_vision", as: CLIPVisionHandle.self)
            let image = try inv.image("init_image")
            let vae = try inv.object("vae", as: VAEHandle.self)
            let width = Int(try inv.int("width")), height = Int(try inv.int("height"))
            let frames = Int(try inv.int("video_frames"))
            let video = VideoConditioning(fps: Int(try inv.int("fps")), motionBucketID: Int(try inv.int("motion_bucket_id")),
                                          augmentationLevel: try inv.double("augmentation_level"))
            guard width >= 8, height >= 8, frames >= 1 else { throw NodeError("width and height must be at least 8 and video_frames at least 1") }
            guard video.augmentationLevel.isFinite, video.augmentationLevel >= 0 else {
                throw NodeError("augmentation_level must be a finite number ≥ 0")
            }
            // Guard the latent's size before any work: frames × 4 × h/8 × w/8 floats.
            let latentShape = [frames, 4, height / 8, width / 8]
            guard latentShape.reduce(1, *) <= 1 << 30 else { throw NodeError("The video latent \(latentShape) is too large") }
            try inv.context.checkInterrupted()

            let pooled: Tensor
            do {
                let output = try clipVision.encode(image, crop: true, backend: env.backend)
                pooled = output.imageEmbeds.reshaped([1] + output.imageEmbeds.shape)
            } catch {
                throw NodeError(error, loading: "the CLIP vision model")
            }
            try inv.context.checkInterrupted()

            var pixels = ImageResampler.resize(image, width: width, height: height, method: .bilinear, crop: .center)
            pixels = pixels.narrowed(dim: 3, start: 0, length: 3)
            if video.augmentationLevel > 0 {
                let shape = pixels.shape
                let noise = ComfyNoise.prepareNoise(shape: shape, seed: augmentationSeed, batchIndex: nil)
                let level = Float(video.augmentationLevel)
                let base = pixels.contiguous(as: .float32, forceCopy: true).scalars
                pixels = Tensor(shape: shape, scalars: zip(base, noise).map { $0 + $1 * level })
            }
            let concat: Tensor
            do {
                let input = try VAEPixels.input(pixels, downscale: vae.downscale)
                concat = try vae.autoencoder().encode(input, backend: env.backend)
            } catch {
                throw NodeError(error, loading: "the VAE")
            }
            let positive = Conditioning([Conditioning.Entry(pooled, pooled: nil, concatLatentImage: concat, video: video)])
            let negative = Conditioning([Conditioning.Entry(Tensor(zeros: pooled.shape), pooled: nil,
                                                            concatLatentImage: Tensor(zeros: concat.shape), video: video)])
            return NodeResult(outputs: [.object(positive), .object(negative), .object(Latent(samples: Tensor(zeros: latentShape)))])
        }
    }
}

/// ComfyUI's `CLIPVisionLoader` and `CLIPVisionEncode`.
enum CLIPVisionNodes {
    static func loader(_ env: NodeEnvironment) -> NodeDefinition {
        let folders = env.modelFolders, models = env.models
        let schema = NodeSchema(
            name: "CLIPVisionLoader", displayName: "Load CLIP Vision", category: "loaders", pythonModule: "nodes",
            required: [InputSpec("clip_name", .combo(ComboOptions(dynamic: { folders.files(in: "clip_vision") ?? [] })))],
            outputs: [OutputSpec(SocketType.clipVision)]
        )
        return NodeDefinition(schema: schema) { inv in
            let name = try inv.string("clip_name")
            guard let file = folders.modelFile("clip_vision", name: name) else {
                throw NodeError("CLIP vision model not found: \(name)", type: "loom.ModelLoadError.fileNotFound")
            }
            do {
                let handle = try CLIPVisionHandle.standalone(file: file, safetensors: try models.safetensors(file), cache: models)
                _ = try handle.encoder()
                return NodeResult(outputs: [.object(handle)])
            } catch {
                throw NodeError(error, loading: "CLIP vision model \(name)")
            }
        }
    }

    static func encode(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "CLIPVisionEncode", displayName: "CLIP Vision Encode", category: "conditioning", pythonModule: "nodes",
            required: [
                InputSpec("clip_vision", .socket(SocketType.clipVision)),
                InputSpec("image", .socket(SocketType.image)),
                InputSpec("crop", .combo(ComboOptions(["center", "none"]))),
            ],
            outputs: [OutputSpec(SocketType.clipVisionOutput)]
        )
        return NodeDefinition(schema: schema) { inv in
            let clipVision = try inv.object("clip_vision", as: CLIPVisionHandle.self)
            let image = try inv.image("image")
            let crop = try inv.string("crop")
            guard crop == "center" || crop == "none" else { throw NodeError("Unknown crop '\(crop)'") }
            try inv.context.checkInterrupted()
            do {
                return NodeResult(outputs: [.object(try clipVision.encode(image, crop: crop == "center", backend: env.backend))])
            } catch {
                throw NodeError(error, loading: "the CLIP vision model")
            }
        }
    }
}
