/// A Stable Diffusion 1.x single-file checkpoint: UNet, VAE and CLIP-L text encoder.
public struct SD1CheckpointConfiguration: Codable, Sendable, Equatable {
    /// The parts of the checkpoint, each under its own key prefix.
    public enum Component: String, Codable, Sendable, CaseIterable {
        case unet, vae, clip

        /// Where the component's keys live in the file (after `keyRules`).
        public var prefix: String {
            switch self {
            case .unet: "model.diffusion_model."
            case .vae: "first_stage_model."
            case .clip: "cond_stage_model.transformer.text_model."
            }
        }
    }

    public var unet: SD1UNetConfiguration
    public var vae: AutoencoderKLConfiguration
    public var clip: CLIPTextConfiguration

    public init(unet: SD1UNetConfiguration, vae: AutoencoderKLConfiguration, clip: CLIPTextConfiguration) {
        self.unet = unet
        self.vae = vae
        self.clip = clip
    }

    /// Renames applied to file keys before matching (ComfyUI's SD15 `process_clip_state_dict`): older
    /// files keep CLIP directly under `cond_stage_model.transformer.` without `text_model.`.
    public static let keyRules: [KeyRule] = [
        KeyRule(from: "cond_stage_model.transformer.", to: "cond_stage_model.transformer.text_model.",
                unlessPrefix: "cond_stage_model.transformer.text_model."),
    ]

    /// Keys SD1.x files carry that no model reads: the LDM DDPM schedule buffers, the CLIP position-id
    /// buffer, EMA copies of the weights.
    public static let ignoredKeys: Set<String> = [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
        "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
        "logvar", "model_ema.decay", "model_ema.num_updates",
        "cond_stage_model.transformer.text_model.embeddings.position_ids",
    ]
    public static let ignoredPrefixes: [String] = ["model_ema."]

    /// Whether `key` is one of `ignoredKeys` / `ignoredPrefixes`.
    public static func isIgnored(_ key: String) -> Bool {
        ignoredKeys.contains(key) || ignoredPrefixes.contains { key.hasPrefix($0) }
    }

    /// Every key (full name, with prefix) and shape that `component` needs.
    public func expectedKeys(_ component: Component) -> [String: [Int]] {
        switch component {
        case .unet: unet.expectedKeys(prefix: component.prefix)
        case .vae: vae.expectedKeys(prefix: component.prefix)
        case .clip: clip.expectedKeys(prefix: component.prefix)
        }
    }

    /// Compares the file's keys under `component.prefix` (after `keyRules`) with what the component needs.
    public func keyReport(_ shapes: StateDictShapes, component: Component) -> KeyReport {
        let mapped = shapes.remapped(Self.keyRules).shapes.shapes
        return KeyReport(
            expected: expectedKeys(component),
            found: mapped.filter { $0.key.hasPrefix(component.prefix) },
            ignoring: Self.isIgnored)
    }

    /// Compares all the file's keys (after `keyRules`) with all the checkpoint needs; keys outside every
    /// component that are not ignored are unexpected.
    public func keyReport(_ shapes: StateDictShapes) -> KeyReport {
        var expected: [String: [Int]] = [:]
        for component in Component.allCases { expected.merge(expectedKeys(component)) { a, _ in a } }
        return KeyReport(expected: expected, found: shapes.remapped(Self.keyRules).shapes.shapes, ignoring: Self.isIgnored)
    }
}
