/// A checkpoint's model family and configuration, as read from its keys and shapes.
public enum DetectedModel: Sendable, Equatable {
    case sd1(SD1CheckpointConfiguration)
    case svd(SVDCheckpointConfiguration)
}

/// Recognises a checkpoint's model family from key names and shapes, as ComfyUI's
/// `model_detection.detect_unet_config` + `supported_models` do, and derives its configuration.
public enum ModelDetection {
    /// Detects the model in `file`.
    ///
    /// - Throws: `CheckpointError` `.unrecognisedModel` saying what was found (key families and counts,
    ///   and for a UNet the configuration and why it does not fit).
    public static func detect(_ file: SafetensorsFile) throws(CheckpointError) -> DetectedModel {
        try detect(StateDictShapes(file))
    }

    /// Detects the model described by `shapes`.
    ///
    /// - Throws: `CheckpointError` `.unrecognisedModel` saying what was found.
    public static func detect(_ original: StateDictShapes) throws(CheckpointError) -> DetectedModel {
        if SVDCheckpointConfiguration.hasVideoUNet(original) { return try detectSVD(original) }
        let shapes = original.remapped(SD1CheckpointConfiguration.keyRules).shapes
        typealias Component = SD1CheckpointConfiguration.Component
        guard let (unet, traits) = try SD1UNetConfiguration.detect(in: shapes, prefix: Component.unet.prefix) else {
            throw unrecognised(original, "no UNet under \(Component.unet.prefix) (no input_blocks.0.0.weight)")
        }
        let mismatches = unet.sd1Mismatches(traits: traits)
        guard mismatches.isEmpty else {
            throw unrecognised(original, "a UNet under \(Component.unet.prefix) that is not SD1.x: " + mismatches.joined(separator: "; ")
                + " (detected channel_mult \(unet.channelMult), num_res_blocks \(unet.numResBlocks), context_dim \(unet.contextDim))")
        }
        guard let vae = try AutoencoderKLConfiguration.detect(in: shapes, prefix: Component.vae.prefix) else {
            throw unrecognised(original, "an SD1.x UNet but no VAE under \(Component.vae.prefix) (no encoder.conv_in.weight)")
        }
        guard let clip = try CLIPTextConfiguration.detect(in: shapes, prefix: Component.clip.prefix) else {
            throw unrecognised(original, "an SD1.x UNet but no CLIP text model under \(Component.clip.prefix) (no embeddings.token_embedding.weight)")
        }
        return .sd1(SD1CheckpointConfiguration(unet: unet, vae: vae, clip: clip))
    }

    /// Stable Video Diffusion: a video UNet with ComfyUI's `SVD_img2vid` traits, the VAE and the image tower.
    static func detectSVD(_ shapes: StateDictShapes) throws(CheckpointError) -> DetectedModel {
        typealias Component = SVDCheckpointConfiguration.Component
        guard let unet = try VideoUNetConfiguration.detect(in: shapes, prefix: Component.unet.prefix) else {
            throw unrecognised(shapes, "a video UNet under \(Component.unet.prefix) whose layout is not SVD's")
        }
        guard let vae = try AutoencoderKLConfiguration.detect(in: shapes, prefix: Component.vae.prefix) else {
            throw unrecognised(shapes, "an SVD UNet but no VAE under \(Component.vae.prefix) (no encoder.conv_in.weight)")
        }
        guard let clipVision = try CLIPVisionConfiguration.detect(in: shapes, prefix: Component.clipVision.prefix) else {
            throw unrecognised(shapes, "an SVD UNet but no CLIP vision tower under \(Component.clipVision.prefix)")
        }
        return .svd(SVDCheckpointConfiguration(unet: unet, vae: vae, clipVision: clipVision))
    }

    private static func unrecognised(_ shapes: StateDictShapes, _ finding: String) -> CheckpointError {
        let families = shapes.keyFamilies()
        let listed = families.prefix(8).map { "\($0.family) (\($0.count))" }.joined(separator: ", ")
            + (families.count > 8 ? ", … (\(families.count - 8) more families)" : "")
        return CheckpointError(
            .unrecognisedModel,
            "not a supported checkpoint: found \(finding). \(shapes.shapes.count) keys: \(families.isEmpty ? "none" : listed)",
            path: shapes.source)
    }
}
