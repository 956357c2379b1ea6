import TensorCore
import TensorNN

/// One pre-LayerNorm transformer block of the latent-diffusion UNet (Rombach et al., "High-Resolution Image
/// Synthesis with Latent Diffusion Models", 2022): self-attention, cross-attention to the text context and
/// a GEGLU feed-forward, each added to the residual stream:
/// `x += attn1(norm1(x))`, `x += attn2(norm2(x), context)`, `x += ff(norm3(x))`.
/// Layer norms use ε = 1e-5; the attention projections have no bias except `to_out.0`.
///
/// The temporal blocks of the video UNet open with one more residual feed-forward,
/// `x += ff_in(norm_in(x))` (`extra_ff_mix_layer`); the image UNets have none.
struct BasicTransformerBlock: Module {
    /// `norm_in` and `ff_in`, when the block has the extra input feed-forward.
    let feedForwardIn: (norm: LayerNorm, feedForward: FeedForwardGEGLU)?
    let norm1: LayerNorm
    let selfAttention: MultiHeadAttention
    let norm2: LayerNorm
    let crossAttention: MultiHeadAttention
    let norm3: LayerNorm
    let feedForward: FeedForwardGEGLU

    /// Reads `norm{1,2,3}`, `attn1` and `attn2` (`to_q`, `to_k`, `to_v`, `to_out.0`), `ff` and, with
    /// `feedForwardIn`, `norm_in` and `ff_in`.
    init(_ scope: ParameterScope, dimension: Int, heads: Int, contextDimension: Int, feedForwardIn: Bool = false) {
        self.feedForwardIn = feedForwardIn
            ? (LayerNorm(scope("norm_in"), dimension: dimension, epsilon: 1e-5), FeedForwardGEGLU(scope("ff_in"), dimension: dimension))
            : nil
        norm1 = LayerNorm(scope("norm1"), dimension: dimension, epsilon: 1e-5)
        selfAttention = MultiHeadAttention(scope("attn1"), dimension: dimension, heads: heads,
                                           projectionBias: false, keyNames: .ldm)
        norm2 = LayerNorm(scope("norm2"), dimension: dimension, epsilon: 1e-5)
        crossAttention = MultiHeadAttention(scope("attn2"), dimension: dimension, heads: heads,
                                            contextDimension: contextDimension, projectionBias: false, keyNames: .ldm)
        norm3 = LayerNorm(scope("norm3"), dimension: dimension, epsilon: 1e-5)
        feedForward = FeedForwardGEGLU(scope("ff"), dimension: dimension)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        if let feedForwardIn {
            table.add("norm_in", feedForwardIn.norm)
            table.add("ff_in", feedForwardIn.feedForward)
        }
        table.add("norm1", norm1)
        table.add("attn1", selfAttention)
        table.add("norm2", norm2)
        table.add("attn2", crossAttention)
        table.add("norm3", norm3)
        table.add("ff", feedForward)
        return table.table
    }

    /// `x[B, L, dim]` attending to `context[B, Lc, contextDim]` → `[B, L, dim]`.
    func callAsFunction(_ x: Tensor, context: Tensor, backend: some Backend) -> Tensor {
        var x = x
        if let feedForwardIn {
            x = backend.add(x, feedForwardIn.feedForward(feedForwardIn.norm(x, backend: backend), backend: backend))
        }
        x = backend.add(x, selfAttention(norm1(x, backend: backend), backend: backend))
        x = backend.add(x, crossAttention(norm2(x, backend: backend), context: context, backend: backend))
        return backend.add(x, feedForward(norm3(x, backend: backend), backend: backend))
    }
}
