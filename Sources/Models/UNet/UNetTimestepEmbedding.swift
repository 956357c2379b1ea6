import Foundation
import TensorCore
import TensorNN

/// The UNet's timestep conditioning: a sinusoidal embedding of each timestep (the transformer position
/// encoding of Vaswani et al., 2017, as used by Ho et al., "Denoising Diffusion Probabilistic Models", 2020)
/// through an MLP `time_embed.0` → SiLU → `time_embed.2`.
struct UNetTimestepEmbedding: Module {
    /// Width of the sinusoidal embedding (the UNet's model channels).
    let dimension: Int
    let linear1: Linear
    let linear2: Linear

    /// Reads `0` (`[4·dimension, dimension]`) and `2` (`[4·dimension, 4·dimension]`) under `scope` (`time_embed`).
    init(_ scope: ParameterScope, dimension: Int, embeddingDimension: Int) {
        self.dimension = dimension
        linear1 = Linear(scope("0"), inFeatures: dimension, outFeatures: embeddingDimension)
        linear2 = Linear(scope("2"), inFeatures: embeddingDimension, outFeatures: embeddingDimension)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("0", linear1)
        table.add("2", linear2)
        return table.table
    }

    /// `[B, embeddingDimension]` for one timestep per batch row.
    func callAsFunction(_ timesteps: [Float], backend: some Backend) -> Tensor {
        let sinusoid = Self.sinusoidal(timesteps, dimension: dimension)
        return linear2(backend.unary(.silu, linear1(sinusoid, backend: backend)), backend: backend)
    }

    /// The sinusoidal embedding `[B, dimension]`: with `half = dimension / 2` and
    /// `freq_i = exp(−ln(maxPeriod) · i / half)`, row `b` is `[cos(t_b·freq_i)…, sin(t_b·freq_i)…]`, padded
    /// with one zero when `dimension` is odd. Computed in float32 step by step, as the reference does, so
    /// that the large arguments (t up to 999) round the same way.
    static func sinusoidal(_ timesteps: [Float], dimension: Int, maxPeriod: Float = 10000) -> Tensor {
        let half = dimension / 2
        let logPeriod = -Float(log(Double(maxPeriod)))
        let frequencies = (0..<half).map { i in expf(logPeriod * Float(i) / Float(half)) }
        var values = [Float](repeating: 0, count: timesteps.count * dimension)
        for (row, t) in timesteps.enumerated() {
            let base = row * dimension
            for (i, frequency) in frequencies.enumerated() {
                let argument = t * frequency
                values[base + i] = cosf(argument)
                values[base + half + i] = sinf(argument)
            }
        }
        return Tensor(shape: [timesteps.count, dimension], scalars: values)
    }
}
