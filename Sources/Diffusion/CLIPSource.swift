import Checkpoints
import Models
import TensorCore
import TensorNN

/// Where a CLIP-L text encoder's weights live: a file, the key prefix of its text model, and its
/// configuration. A checkpoint's CLIP sits under `cond_stage_model.transformer.text_model.`; a
/// standalone text-encoder file (`CLIPLoader`) usually under `text_model.`.
public struct CLIPSource: Sendable, Equatable {
    public var file: ModelFile
    /// The text model's key prefix (after ``keyRules``), ending in `text_model.`.
    public var prefix: String
    /// Renames applied to the file's keys first (the SD1 checkpoint rules for checkpoints).
    public var appliesCheckpointKeyRules: Bool
    public var configuration: CLIPTextEncoderConfiguration

    public init(file: ModelFile, prefix: String, appliesCheckpointKeyRules: Bool, configuration: CLIPTextEncoderConfiguration) {
        self.file = file
        self.prefix = prefix
        self.appliesCheckpointKeyRules = appliesCheckpointKeyRules
        self.configuration = configuration
    }

    /// The CLIP of a recognised SD1.x checkpoint; nil for a checkpoint without a text encoder (SVD).
    public init?(checkpoint: LoadedCheckpoint) {
        switch checkpoint.detected {
        case .sd1(let configuration):
            self.init(file: checkpoint.file, prefix: SD1CheckpointConfiguration.Component.clip.prefix,
                      appliesCheckpointKeyRules: true, configuration: CLIPTextEncoderConfiguration(sd1: configuration))
        case .svd:
            return nil
        }
    }

    /// Text-model prefixes tried, in order, for a standalone text-encoder file.
    public static let standalonePrefixes = [
        "text_model.", "transformer.text_model.", "clip_l.transformer.text_model.",
        "cond_stage_model.transformer.text_model.", "te.text_model.",
    ]

    /// Recognises a standalone CLIP-L text encoder (SD1.x's; ComfyUI `CLIPLoader` type `stable_diffusion`).
    ///
    /// - Throws: ``ModelLoadError`` `.unsupportedModel` saying what was found when the file holds no CLIP
    ///   text model or one that is not CLIP-L (width 768).
    public static func standaloneCLIPL(file: ModelFile, safetensors: SafetensorsFile) throws(ModelLoadError) -> CLIPSource {
        let shapes = StateDictShapes(safetensors)
        for prefix in standalonePrefixes {
            let detected: CLIPTextConfiguration?
            do {
                detected = try CLIPTextConfiguration.detect(in: shapes, prefix: prefix)
            } catch {
                throw ModelLoadError(.unsupportedModel, "a CLIP text model under \(prefix) that does not load: \(error.message)",
                                     path: file.path)
            }
            guard let detected else { continue }
            guard detected.hiddenSize == 768 else {
                throw ModelLoadError(
                    .unsupportedModel,
                    "type stable_diffusion needs a CLIP-L text encoder (width 768); this file has a CLIP text model of width "
                        + "\(detected.hiddenSize) with \(detected.numLayers) layers under \(prefix) (CLIP-G or another family)",
                    path: file.path)
            }
            return CLIPSource(file: file, prefix: prefix, appliesCheckpointKeyRules: false,
                              configuration: CLIPTextEncoderConfiguration(transformer: detected))
        }
        let families = shapes.keyFamilies()
        let listed = families.prefix(6).map { "\($0.family) (\($0.count))" }.joined(separator: ", ")
        throw ModelLoadError(
            .unsupportedModel,
            "not a CLIP-L text encoder: no embeddings.token_embedding.weight under any of "
                + standalonePrefixes.map { "'\($0)'" }.joined(separator: ", ") + ". \(shapes.shapes.count) keys: \(families.isEmpty ? "none" : listed)",
            path: file.path)
    }

    /// Builds the encoder from the mapped file, zero-copy; reports missing or unexpected keys under the prefix.
    ///
    /// - Throws: ``ModelLoadError`` `.loadFailed` listing the key problems.
    func loadEncoder(from safetensors: SafetensorsFile) throws(ModelLoadError) -> CLIPTextEncoder {
        let rules = appliesCheckpointKeyRules ? SD1CheckpointConfiguration.keyRules : []
        let source = CheckpointParameterSource(file: safetensors, rules: rules)
        let positionIDs = prefix + "embeddings.position_ids"
        let loader = ParameterLoader(source: source, prefix: prefix) { $0 == positionIDs }
        do {
            // Widened to float32 once at load, as ComfyUI runs text encoders in fp32 on the CPU: encoding
            // is then 2-3x faster than widening half-precision weights at every call.
            return try CLIPTextEncoder(loader: loader, configuration: configuration).converted(to: .float32)
        } catch {
            throw ModelLoadError(.loadFailed, "the CLIP text encoder does not load", path: file.path, cause: "\(error)")
        }
    }
}
