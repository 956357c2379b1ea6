import Checkpoints
import TensorCore
import TensorNN

/// The CLIP vision transformer (ComfyUI's `CLIPVision`, Hugging Face's `vision_model`): embeddings,
/// `pre_layrnorm`, pre-LN encoder layers with unmasked attention, and `post_layernorm` for the class token.
struct CLIPVisionTransformer: Module {
    let embeddings: CLIPVisionEmbeddings
    let preLayerNorm: LayerNorm
    let layers: [CLIPEncoderLayer]
    let postLayerNorm: LayerNorm

    /// Reads `embeddings`, `pre_layrnorm` (sic), `encoder.layers.N` and `post_layernorm`.
    init(_ scope: ParameterScope, configuration c: CLIPVisionConfiguration) {
        embeddings = CLIPVisionEmbeddings(scope("embeddings"), configuration: c)
        preLayerNorm = LayerNorm(scope("pre_layrnorm"), dimension: c.hiddenSize, epsilon: c.layerNormEpsilon)
        let shape = c.encoderLayerShape
        layers = (0..<c.numLayers).map { CLIPEncoderLayer(scope("encoder.layers.\($0)"), configuration: shape) }
        postLayerNorm = LayerNorm(scope("post_layernorm"), dimension: c.hiddenSize, epsilon: c.layerNormEpsilon)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("embeddings", embeddings)
        table.add("pre_layrnorm", preLayerNorm)
        for (i, layer) in layers.enumerated() { table.add("encoder.layers.\(i)", layer) }
        table.add("post_layernorm", postLayerNorm)
        return table.table
    }

    /// `pixels[B, C, S, S]` → the last hidden state, the hidden state after layer `intermediate` (when
    /// given) and the post-layernormed class token `[B, width]`.
    func callAsFunction(_ pixels: Tensor, intermediate: Int?, backend: some Backend)
        -> (last: Tensor, intermediate: Tensor?, pooled: Tensor) {
        var x = preLayerNorm(embeddings(pixels, backend: backend), backend: backend)
        var kept: Tensor?
        for (i, layer) in layers.enumerated() {
            x = layer(x, backend: backend)
            if i == intermediate { kept = x }
        }
        let (batch, width) = (x.shape[0], x.shape[2])
        let cls = backend.contiguous(x.narrowed(dim: 1, start: 0, length: 1)).reshaped([batch, width])
        return (x, kept, postLayerNorm(cls, backend: backend))
    }
}
