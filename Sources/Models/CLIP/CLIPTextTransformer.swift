import Checkpoints
import TensorCore
import TensorNN

/// The CLIP text transformer (Radford et al., "Learning Transferable Visual Models From Natural
/// Language Supervision", 2021) without projection: embeddings, causal pre-LN layers, final layer norm.
struct CLIPTextTransformer: Module {
    let configuration: CLIPTextConfiguration
    let embeddings: CLIPEmbeddings
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm

    /// Reads `embeddings.*`, `encoder.layers.N.*` and `final_layer_norm.*` (paths under `text_model.`).
    init(_ scope: ParameterScope, configuration c: CLIPTextConfiguration) {
        configuration = c
        embeddings = CLIPEmbeddings(scope("embeddings"), configuration: c)
        layers = (0..<c.numLayers).map { CLIPEncoderLayer(scope("encoder.layers.\($0)"), configuration: c) }
        finalLayerNorm = LayerNorm(scope("final_layer_norm"), dimension: c.hiddenSize, epsilon: c.layerNormEpsilon)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("embeddings", embeddings)
        for (i, layer) in layers.enumerated() { table.add("encoder.layers.\(i)", layer) }
        table.add("final_layer_norm", finalLayerNorm)
        return table.table
    }

    /// Runs the tower on int64 `ids[B, L]`.
    ///
    /// - Parameters:
    ///   - intermediate: 0-based index of a layer whose output is also returned (negative counts from the end).
    ///   - normalizeIntermediate: whether that output goes through the final layer norm.
    ///   - replacements: token-embedding rows replaced by textual-inversion vectors.
    /// - Returns: the final-layer-normed last hidden state `[B, L, hidden]` and the intermediate one, if asked.
    func callAsFunction(_ ids: Tensor, intermediate: Int?, normalizeIntermediate: Bool,
                        replacing replacements: [CLIPEmbeddings.Replacement] = [],
                        backend: some Backend) -> (last: Tensor, intermediate: Tensor?) {
        let wanted = intermediate.map { $0 < 0 ? layers.count + $0 : $0 }
        let mask = MultiHeadAttention.causalMask(length: ids.shape[1])
        var x = embeddings(ids, replacing: replacements, backend: backend)
        var kept: Tensor?
        for (i, layer) in layers.enumerated() {
            x = layer(x, mask: mask, backend: backend)
            if i == wanted { kept = x }
        }
        let last = finalLayerNorm(x, backend: backend)
        if normalizeIntermediate, let hidden = kept { kept = finalLayerNorm(hidden, backend: backend) }
        return (last, kept)
    }
}
