import TensorCore

/// What ``CLIPVisionEncoder/encode(pixels:backend:)`` returns: ComfyUI's `CLIP_VISION_OUTPUT`.
public struct CLIPVisionOutput: Sendable {
    /// The output of the last encoder layer, before the post-layernorm: `[B, tokens, width]`.
    public var lastHiddenState: Tensor
    /// The output of the second-to-last encoder layer (`penultimate_hidden_states`): `[B, tokens, width]`.
    public var penultimateHiddenState: Tensor
    /// The projected, post-layernormed class token (`image_embeds`): `[B, projectionDimension]`.
    public var imageEmbeds: Tensor

    public init(lastHiddenState: Tensor, penultimateHiddenState: Tensor, imageEmbeds: Tensor) {
        self.lastHiddenState = lastHiddenState
        self.penultimateHiddenState = penultimateHiddenState
        self.imageEmbeds = imageEmbeds
    }
}
