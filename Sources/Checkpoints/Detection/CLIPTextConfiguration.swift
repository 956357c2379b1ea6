/// A CLIP text transformer (Hugging Face `CLIPTextModel` layout under `text_model.`).
public struct CLIPTextConfiguration: Codable, Sendable, Equatable {
    public var vocabularySize: Int
    public var maxPositionEmbeddings: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    /// Attention heads; not visible in shapes, taken as hidden size / 64 (CLIP's head width).
    public var numHeads: Int
    /// The MLP activation: CLIP-L as used by SD1.x uses quick-GELU.
    public var hiddenActivation: String
    public var layerNormEpsilon: Float

    public init(
        vocabularySize: Int = 49408, maxPositionEmbeddings: Int = 77, hiddenSize: Int = 768,
        intermediateSize: Int = 3072, numLayers: Int = 12, numHeads: Int = 12,
        hiddenActivation: String = "quick_gelu", layerNormEpsilon: Float = 1e-5
    ) {
        self.vocabularySize = vocabularySize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.hiddenActivation = hiddenActivation
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// CLIP ViT-L/14's text tower, the SD1.x text encoder.
    public static let vitL14 = CLIPTextConfiguration()

    /// Reads the configuration off shapes under `prefix` (which ends in `text_model.`): vocabulary and width
    /// from the token embedding, positions from the position embedding, layers by counting
    /// `encoder.layers.N`, MLP width from `fc1`.
    ///
    /// - Returns: nil when there is no token embedding under `prefix`.
    /// - Throws: `CheckpointError` `.unrecognisedModel` when a tensor the layout implies is missing or misshapen.
    public static func detect(in shapes: StateDictShapes, prefix: String) throws(CheckpointError) -> CLIPTextConfiguration? {
        let token = prefix + "embeddings.token_embedding.weight"
        guard shapes.contains(token) else { return nil }
        let hidden = try shapes.dimension(token, 1)
        let layers = shapes.countBlocks(prefix + "encoder.layers.")
        guard layers > 0 else {
            throw CheckpointError(.unrecognisedModel, "CLIP text model without encoder layers", path: shapes.source, key: token)
        }
        return CLIPTextConfiguration(
            vocabularySize: try shapes.dimension(token, 0),
            maxPositionEmbeddings: try shapes.dimension(prefix + "embeddings.position_embedding.weight", 0),
            hiddenSize: hidden,
            intermediateSize: try shapes.dimension(prefix + "encoder.layers.0.mlp.fc1.weight", 0),
            numLayers: layers, numHeads: max(1, hidden / 64))
    }

    /// Every parameter key (after `prefix`) with its shape. `embeddings.position_ids` is a buffer, not a
    /// parameter, and is not listed (see `SD1CheckpointConfiguration.ignoredKeys`).
    public func expectedKeys(prefix: String = "cond_stage_model.transformer.text_model.") -> [String: [Int]] {
        var t = ParameterTable()
        let w = hiddenSize
        t.add(prefix + "embeddings.token_embedding.weight", [vocabularySize, w])
        t.add(prefix + "embeddings.position_embedding.weight", [maxPositionEmbeddings, w])
        for i in 0..<numLayers {
            let q = prefix + "encoder.layers.\(i)."
            for n in ["q_proj", "k_proj", "v_proj", "out_proj"] { t.linear(q + "self_attn." + n, w, w) }
            t.norm(q + "layer_norm1", w)
            t.linear(q + "mlp.fc1", w, intermediateSize)
            t.linear(q + "mlp.fc2", intermediateSize, w)
            t.norm(q + "layer_norm2", w)
        }
        t.norm(prefix + "final_layer_norm", w)
        return t.shapes
    }
}
