import TensorCore

/// The sinusoidal embedding of scalars used for timesteps and micro-conditioning values (ComfyUI's
/// `timestep_embedding` and its `Timestep` embedder).
public enum SinusoidalEmbedding {
    /// `[values.count, dimension]`: row `b` is `[cos(v_b·f_i)…, sin(v_b·f_i)…]` with
    /// `f_i = exp(−ln(maxPeriod)·i/half)`, in float32 as the reference computes it.
    public static func embed(_ values: [Float], dimension: Int, maxPeriod: Float = 10000) -> Tensor {
        UNetTimestepEmbedding.sinusoidal(values, dimension: dimension, maxPeriod: maxPeriod)
    }
}
