/// A CLIP vision transformer (ViT) with its image projection, as ComfyUI's `CLIPVisionModelProjection`
/// builds it from `clip_vision_config_{vitl,vitl_336,h,g}.json`.
///
/// Two checkpoint layouts carry the same tower: Hugging Face's (`vision_model.…`, `visual_projection.weight`,
/// what `CLIPVisionLoader` reads from `models/clip_vision`) and OpenCLIP's (`conv1`, `class_embedding`,
/// `transformer.resblocks.N.attn.in_proj_weight`, `proj`, …), found under
/// `conditioner.embedders.0.open_clip.model.visual.` in SVD checkpoints.
public struct CLIPVisionConfiguration: Codable, Sendable, Equatable {
    /// The key layout a checkpoint stores the tower in.
    public enum Layout: String, Codable, Sendable, Equatable {
        /// Hugging Face `CLIPVisionModelWithProjection` names.
        case huggingFace
        /// OpenCLIP `VisionTransformer` names (fused q/k/v projection, projection stored `[width, dim]`).
        case openCLIP
    }

    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    /// Attention heads; not visible in shapes, taken from the known configuration of the width.
    public var numHeads: Int
    public var patchSize: Int
    public var imageSize: Int
    public var numChannels: Int
    public var projectionDimension: Int
    /// The MLP activation: quick-GELU for OpenAI's ViT-L/14, GELU for LAION's ViT-H/14 and ViT-bigG/14.
    public var hiddenActivation: String
    public var layerNormEpsilon: Float

    public init(hiddenSize: Int, intermediateSize: Int, numLayers: Int, numHeads: Int, patchSize: Int = 14,
                imageSize: Int = 224, numChannels: Int = 3, projectionDimension: Int, hiddenActivation: String,
                layerNormEpsilon: Float = 1e-5) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.patchSize = patchSize
        self.imageSize = imageSize
        self.numChannels = numChannels
        self.projectionDimension = projectionDimension
        self.hiddenActivation = hiddenActivation
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// OpenAI CLIP ViT-L/14 (`clip_vision_config_vitl.json`).
    public static let vitL14 = CLIPVisionConfiguration(hiddenSize: 1024, intermediateSize: 4096, numLayers: 24, numHeads: 16,
                                                       projectionDimension: 768, hiddenActivation: "quick_gelu")
    /// OpenAI CLIP ViT-L/14 at 336 pixels (`clip_vision_config_vitl_336.json`).
    public static let vitL14At336 = CLIPVisionConfiguration(hiddenSize: 1024, intermediateSize: 4096, numLayers: 24, numHeads: 16,
                                                            imageSize: 336, projectionDimension: 768, hiddenActivation: "quick_gelu")
    /// LAION OpenCLIP ViT-H/14 (`clip_vision_config_h.json`), the SVD and SD2-unCLIP image encoder.
    public static let vitH14 = CLIPVisionConfiguration(hiddenSize: 1280, intermediateSize: 5120, numLayers: 32, numHeads: 16,
                                                       projectionDimension: 1024, hiddenActivation: "gelu")
    /// LAION OpenCLIP ViT-bigG/14 (`clip_vision_config_g.json`).
    public static let vitBigG14 = CLIPVisionConfiguration(hiddenSize: 1664, intermediateSize: 8192, numLayers: 48, numHeads: 16,
                                                          projectionDimension: 1280, hiddenActivation: "gelu")

    /// Heads and activation by width: what the shapes cannot tell.
    static let knownWidths: [Int: (heads: Int, activation: String)] = [
        1024: (16, "quick_gelu"), 1280: (16, "gelu"), 1664: (16, "gelu"),
    ]

    /// Patches along each side of the image.
    public var gridSize: Int { imageSize / patchSize }

    /// Tokens per image: one per patch plus the class token.
    public var sequenceLength: Int { gridSize * gridSize + 1 }

    /// The layout of the tower under `prefix`, or nil when neither layout's patch embedding is there.
    public static func layout(in shapes: [String: [Int]], prefix: String) -> Layout? {
        if shapes[prefix + "conv1.weight"] != nil { return .openCLIP }
        if shapes[prefix + "vision_model.embeddings.patch_embedding.weight"] != nil { return .huggingFace }
        return nil
    }

    /// Reads the configuration off the shapes under `prefix` in either layout: width and patch size from the
    /// patch embedding, image size from the position count, layers by counting blocks, MLP width from the
    /// first layer, projection width from the projection; heads and activation from the width (ViT-L/14,
    /// ViT-H/14 and ViT-bigG/14 are known).
    ///
    /// - Returns: nil when there is no patch embedding under `prefix`.
    /// - Throws: `CheckpointError` `.unrecognisedModel` when a tensor the layout implies is missing or
    ///   misshapen, or the width is not one of a known tower.
    public static func detect(in shapes: [String: [Int]], prefix: String) throws(CheckpointError) -> CLIPVisionConfiguration? {
        guard let layout = layout(in: shapes, prefix: prefix) else { return nil }
        let table = StateDictShapes(shapes)
        let patch, positions, firstMLP, projection: String
        let layers: Int
        switch layout {
        case .openCLIP:
            patch = prefix + "conv1.weight"
            positions = prefix + "positional_embedding"
            firstMLP = prefix + "transformer.resblocks.0.mlp.c_fc.weight"
            projection = prefix + "proj"
            layers = table.countBlocks(prefix + "transformer.resblocks.")
        case .huggingFace:
            patch = prefix + "vision_model.embeddings.patch_embedding.weight"
            positions = prefix + "vision_model.embeddings.position_embedding.weight"
            firstMLP = prefix + "vision_model.encoder.layers.0.mlp.fc1.weight"
            projection = prefix + "visual_projection.weight"
            layers = table.countBlocks(prefix + "vision_model.encoder.layers.")
        }
        guard layers > 0 else {
            throw CheckpointError(.unrecognisedModel, "CLIP vision model without encoder layers", key: patch)
        }
        let width = try table.dimension(patch, 0)
        let patchSize = try table.dimension(patch, 3)
        let tokens = try table.dimension(positions, 0)
        let grid = Int(Double(tokens - 1).squareRoot().rounded())
        guard grid > 0, grid * grid + 1 == tokens, table[positions]?.last == width else {
            throw CheckpointError(.unrecognisedModel, "position embedding \(table[positions] ?? []) does not fit a square patch grid of width \(width)",
                                  key: positions)
        }
        // OpenCLIP stores the projection as [width, dim], Hugging Face as the Linear weight [dim, width].
        let projectionDimension = try table.dimension(projection, layout == .openCLIP ? 1 : 0)
        guard let known = knownWidths[width] else {
            throw CheckpointError(.unrecognisedModel, "CLIP vision width \(width) is not that of ViT-L/14, ViT-H/14 or ViT-bigG/14",
                                  key: patch)
        }
        return CLIPVisionConfiguration(
            hiddenSize: width, intermediateSize: try table.dimension(firstMLP, 0), numLayers: layers,
            numHeads: known.heads, patchSize: patchSize, imageSize: grid * patchSize,
            numChannels: try table.dimension(patch, 1), projectionDimension: projectionDimension,
            hiddenActivation: known.activation)
    }

    /// ``detect(in:prefix:)`` over a checkpoint's shape table (its file named in errors).
    public static func detect(in shapes: StateDictShapes, prefix: String) throws(CheckpointError) -> CLIPVisionConfiguration? {
        do {
            return try detect(in: shapes.shapes, prefix: prefix)
        } catch {
            var located = error
            located.path = shapes.source
            throw located
        }
    }

    /// Every parameter key (after `prefix`) with its shape, in the Hugging Face layout.
    /// `vision_model.embeddings.position_ids` is a buffer, not a parameter, and is not listed.
    public func expectedKeys(prefix: String = "") -> [String: [Int]] {
        var t = ParameterTable()
        let w = hiddenSize
        let v = prefix + "vision_model."
        t.add(v + "embeddings.class_embedding", [w])
        t.add(v + "embeddings.patch_embedding.weight", [w, numChannels, patchSize, patchSize])
        t.add(v + "embeddings.position_embedding.weight", [sequenceLength, w])
        t.norm(v + "pre_layrnorm", w)
        for i in 0..<numLayers {
            let q = v + "encoder.layers.\(i)."
            for n in ["q_proj", "k_proj", "v_proj", "out_proj"] { t.linear(q + "self_attn." + n, w, w) }
            t.norm(q + "layer_norm1", w)
            t.linear(q + "mlp.fc1", w, intermediateSize)
            t.linear(q + "mlp.fc2", intermediateSize, w)
            t.norm(q + "layer_norm2", w)
        }
        t.norm(v + "post_layernorm", w)
        t.add(prefix + "visual_projection.weight", [projectionDimension, w])
        return t.shapes
    }
}
