import Checkpoints
import TensorCore
import TensorNN

/// The key names of the CLIP vision tower in a checkpoint: the model reads Hugging Face names
/// (`vision_model.…`, `visual_projection.weight`) below the prefix; OpenCLIP files are renamed to them by
/// ``KeyRule``s and two derivations (the fused attention input projection split into q/k/v, the
/// projection transposed) — ComfyUI's `convert_to_transformers`.
struct CLIPVisionKeyLayout {
    let layout: CLIPVisionConfiguration.Layout
    let prefix: String
    /// File key → model key renames (OpenCLIP only).
    let rules: [KeyRule]
    /// Model key → how it is made from file keys (OpenCLIP only).
    let derived: [String: DerivedParameterSource.Derivation]

    init(_ layout: CLIPVisionConfiguration.Layout, prefix: String, configuration c: CLIPVisionConfiguration) {
        self.layout = layout
        self.prefix = prefix
        guard layout == .openCLIP else {
            rules = []
            derived = [:]
            return
        }
        let p = prefix, v = prefix + "vision_model."
        var rules = [
            KeyRule(from: p + "class_embedding", to: v + "embeddings.class_embedding"),
            KeyRule(from: p + "conv1.", to: v + "embeddings.patch_embedding."),
            KeyRule(from: p + "positional_embedding", to: v + "embeddings.position_embedding.weight"),
            KeyRule(from: p + "ln_pre.", to: v + "pre_layrnorm."),
            KeyRule(from: p + "ln_post.", to: v + "post_layernorm."),
        ]
        var derived: [String: DerivedParameterSource.Derivation] = [
            p + "visual_projection.weight": .transposed(of: p + "proj"),
        ]
        let w = c.hiddenSize
        for i in 0..<c.numLayers {
            let file = p + "transformer.resblocks.\(i).", model = v + "encoder.layers.\(i)."
            for (from, to) in [("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("attn.out_proj.", "self_attn.out_proj."),
                               ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2.")] {
                rules.append(KeyRule(from: file + from, to: model + to))
            }
            for (k, name) in ["q_proj", "k_proj", "v_proj"].enumerated() {
                derived[model + "self_attn.\(name).weight"] = .rows(of: file + "attn.in_proj_weight", start: k * w, count: w)
                derived[model + "self_attn.\(name).bias"] = .rows(of: file + "attn.in_proj_bias", start: k * w, count: w)
            }
        }
        self.rules = rules
        self.derived = derived
    }

    /// The parameters of a checkpoint file under model key names.
    func source(_ checkpoint: SafetensorsFile) -> any ParameterSource {
        wrap(CheckpointParameterSource(file: checkpoint, rules: rules))
    }

    /// `base` (already renamed by ``rules``) with the derived parameters added.
    func wrap(_ base: any ParameterSource) -> any ParameterSource {
        derived.isEmpty ? base : DerivedParameterSource(base: base, derived: derived)
    }

    /// Keys under the prefix that no parameter reads and that are not an error: in Hugging Face files the
    /// `position_ids` buffer and whatever is not the vision tower (a text model, a logit scale).
    func isIgnored(_ key: String) -> Bool {
        guard layout == .huggingFace else { return false }
        let rest = key.dropFirst(prefix.count)
        if rest == "vision_model.embeddings.position_ids" { return true }
        return !(rest.hasPrefix("vision_model.") || rest.hasPrefix("visual_projection."))
    }

    /// The key a model key is stored under in the file (the derivation's source, or the rename undone).
    func fileKey(_ modelKey: String) -> String {
        if let derivation = derived[modelKey] { return derivation.source }
        return KeyRule.apply(rules.map { KeyRule(from: $0.to, to: $0.from) }, to: modelKey)
    }

    /// `error` with every key named as the file names it, so that a message points at the file's tensor.
    func inFileKeys(_ error: ParameterLoadError) -> ParameterLoadError {
        guard layout == .openCLIP else { return error }
        var renamed = error
        renamed.report.missing = Array(Set(error.report.missing.map(fileKey))).sorted()
        renamed.report.unexpected = error.report.unexpected.map(fileKey).sorted()
        renamed.report.shapeMismatches = error.report.shapeMismatches.map {
            var m = $0
            m.key = fileKey(m.key)
            return m
        }
        renamed.report.readFailures = error.report.readFailures.map {
            var f = $0
            f.key = fileKey(f.key)
            return f
        }
        return renamed
    }
}
