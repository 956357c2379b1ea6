import Checkpoints
import TensorCore
import TensorNN

/// One pre-LN transformer layer of the CLIP text tower:
/// `x += self_attn(layer_norm1(x), causal mask)`, then `x += mlp(layer_norm2(x))`.
struct CLIPEncoderLayer: Module {
    let layerNorm1: LayerNorm
    let selfAttention: MultiHeadAttention
    let layerNorm2: LayerNorm
    let mlp: CLIPMLP

    /// Reads `layer_norm1`, `self_attn.{q,k,v,out}_proj`, `layer_norm2` and `mlp.fc{1,2}`.
    init(_ scope: ParameterScope, configuration c: CLIPTextConfiguration) {
        layerNorm1 = LayerNorm(scope("layer_norm1"), dimension: c.hiddenSize, epsilon: c.layerNormEpsilon)
        selfAttention = MultiHeadAttention(scope("self_attn"), dimension: c.hiddenSize, heads: c.numHeads,
                                           keyNames: .huggingFace)
        layerNorm2 = LayerNorm(scope("layer_norm2"), dimension: c.hiddenSize, epsilon: c.layerNormEpsilon)
        mlp = CLIPMLP(scope("mlp"), configuration: c)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("layer_norm1", layerNorm1)
        table.add("self_attn", selfAttention)
        table.add("layer_norm2", layerNorm2)
        table.add("mlp", mlp)
        return table.table
    }

    /// `x[B, L, hidden]` with the additive `mask[L, L]`.
    func callAsFunction(_ x: Tensor, mask: Tensor, backend: some Backend) -> Tensor {
        let attended = selfAttention(layerNorm1(x, backend: backend), mask: mask, backend: backend)
        let h = backend.add(x, attended)
        return backend.add(h, mlp(layerNorm2(h, backend: backend), backend: backend))
    }
}
