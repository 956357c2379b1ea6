import Checkpoints

/// Everything the SD1.x text encoder needs beyond the weights: the transformer's shape and ComfyUI's
/// `SDClipModel` settings for CLIP-L.
public struct CLIPTextEncoderConfiguration: Codable, Sendable, Equatable {
    /// Transformer shape (layers, width, heads, MLP width, vocabulary, positions, activation, LN epsilon).
    public var transformer: CLIPTextConfiguration
    /// `<|startoftext|>`.
    public var startToken: Int
    /// `<|endoftext|>`; the pooled output is read at the first one in a window.
    public var endToken: Int
    /// The padding id (SD1.x pads with the end token).
    public var padToken: Int
    /// Whether an intermediate layer's output (`CLIPSetLastLayer`) also goes through the final layer norm
    /// (ComfyUI's `layer_norm_hidden_state`, true for SD1.x).
    public var layerNormHiddenState: Bool

    public init(transformer: CLIPTextConfiguration = .vitL14, startToken: Int = 49406, endToken: Int = 49407,
                padToken: Int = 49407, layerNormHiddenState: Bool = true) {
        self.transformer = transformer
        self.startToken = startToken
        self.endToken = endToken
        self.padToken = padToken
        self.layerNormHiddenState = layerNormHiddenState
    }

    /// The SD1.x text encoder of a detected checkpoint.
    public init(sd1 checkpoint: SD1CheckpointConfiguration) {
        self.init(transformer: checkpoint.clip)
    }
}
