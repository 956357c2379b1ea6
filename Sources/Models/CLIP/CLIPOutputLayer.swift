/// Which hidden state the text encoder returns as the conditioning.
public enum CLIPOutputLayer: Sendable, Hashable, Codable {
    /// The last layer's output after the final layer norm (ComfyUI `layer="last"`).
    case last
    /// The output of layer `index` (0-based; negative counts from the end, −1 is the last layer),
    /// through the final layer norm when the configuration says so (ComfyUI `layer="hidden"`).
    case hidden(Int)

    /// What ComfyUI's `CLIPSetLastLayer(stop_at_clip_layer)` selects: −1 the last layer, −2 the
    /// penultimate ("clip skip 2"), …; an index beyond the layer count means the last layer
    /// (`SDClipModel.clip_layer`).
    public static func stopAtClipLayer(_ index: Int, layerCount: Int) -> CLIPOutputLayer {
        abs(index) > layerCount ? .last : .hidden(index)
    }
}
