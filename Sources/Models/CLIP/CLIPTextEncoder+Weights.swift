import Checkpoints
import TensorCore
import TensorNN

/// Where the SD1.x text encoder's weights live in a checkpoint.
///
/// Keys below the prefix are named by the blocks that read them (`embeddings.token_embedding`,
/// `encoder.layers.N.self_attn.q_proj`, `encoder.layers.N.mlp.fc1`, `final_layer_norm`, …); this file
/// holds the prefix, the renames older files need and the keys that are known to be unused.
extension CLIPTextEncoder {
    /// The text model's key prefix in an SD1.x single-file checkpoint (after ``keyRules``).
    public static let checkpointPrefix = SD1CheckpointConfiguration.Component.clip.prefix  // cond_stage_model.transformer.text_model.

    /// Renames applied to file keys first: files that keep CLIP directly under `cond_stage_model.transformer.`
    /// (ComfyUI's SD15 `process_clip_state_dict`).
    public static let keyRules: [KeyRule] = SD1CheckpointConfiguration.keyRules

    /// Keys under the prefix that no parameter reads: the `position_ids` buffer.
    public static func isIgnored(_ key: String) -> Bool { SD1CheckpointConfiguration.isIgnored(key) }

    /// Loads the text encoder from an SD1.x checkpoint, zero-copy (weights borrowed from the mapping).
    ///
    /// - Parameters:
    ///   - checkpoint: the single-file checkpoint.
    ///   - configuration: the transformer shape; detected from the checkpoint's shapes when nil.
    ///   - prefix: the text model's key prefix (after ``keyRules``).
    /// - Throws: `CheckpointError` when the configuration cannot be detected; ``ParameterLoadError`` listing
    ///   missing, misshapen, unreadable and unexpected keys under `prefix`.
    public init(checkpoint: SafetensorsFile, configuration: CLIPTextEncoderConfiguration? = nil,
                prefix: String = CLIPTextEncoder.checkpointPrefix) throws {
        let resolved: CLIPTextEncoderConfiguration
        if let configuration {
            resolved = configuration
        } else {
            let shapes = StateDictShapes(checkpoint).remapped(Self.keyRules).shapes
            guard let detected = try CLIPTextConfiguration.detect(in: shapes, prefix: prefix) else {
                throw CheckpointError(.unrecognisedModel, "no CLIP text model under \(prefix)", path: checkpoint.path)
            }
            resolved = CLIPTextEncoderConfiguration(transformer: detected)
        }
        let source = CheckpointParameterSource(file: checkpoint, rules: Self.keyRules)
        let loader = ParameterLoader(source: source, prefix: prefix, ignoring: Self.isIgnored)
        try self.init(loader: loader, configuration: resolved)
    }
}
