/// A Stable Video Diffusion image-to-video single-file checkpoint (SVD / SVD-XT): the video UNet, the VAE with
/// its temporal decoder and the OpenCLIP ViT-H/14 image tower, as ComfyUI's `ImageOnlyCheckpointLoader` reads it.
public struct SVDCheckpointConfiguration: Codable, Sendable, Equatable {
    /// The parts of the checkpoint, each under its own key prefix.
    public enum Component: String, Codable, Sendable, CaseIterable {
        case unet, vae, clipVision

        /// Where the component's keys live in the file.
        public var prefix: String {
            switch self {
            case .unet: "model.diffusion_model."
            case .vae: "first_stage_model."
            case .clipVision: "conditioner.embedders.0.open_clip.model.visual."
            }
        }
    }

    public var unet: VideoUNetConfiguration
    public var vae: AutoencoderKLConfiguration
    public var clipVision: CLIPVisionConfiguration

    public init(unet: VideoUNetConfiguration, vae: AutoencoderKLConfiguration, clipVision: CLIPVisionConfiguration) {
        self.unet = unet
        self.vae = vae
        self.clipVision = clipVision
    }

    /// Whether the UNet under `prefix` is a video UNet (its res blocks have temporal `time_stack`s), which
    /// is how ComfyUI's `detect_unet_config` sets `use_temporal_resblock`.
    public static func hasVideoUNet(_ shapes: StateDictShapes, prefix: String = Component.unet.prefix) -> Bool {
        shapes.shapes.keys.contains { $0.hasPrefix(prefix + "input_blocks.") && $0.contains(".time_stack.") }
    }
}
