import TensorCore
import TensorNN

/// The transformer feed-forward with a GELU-gated linear unit (Shazeer, "GLU Variants Improve Transformer",
/// 2020): `net.0.proj` maps `dim → 2·inner`, the first half is the value and the second the gate,
/// `value · GELU(gate)` (erf form) is mapped back by `net.2` (`inner → dim`), inner = 4·dim.
struct FeedForwardGEGLU: Module {
    let projection: Linear
    let output: Linear

    /// Reads `net.0.proj` and `net.2` under `scope` (`ff`).
    init(_ scope: ParameterScope, dimension: Int, multiplier: Int = 4) {
        let inner = dimension * multiplier
        projection = Linear(scope("net.0.proj"), inFeatures: dimension, outFeatures: inner * 2)
        output = Linear(scope("net.2"), inFeatures: inner, outFeatures: dimension)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("net.0.proj", projection)
        table.add("net.2", output)
        return table.table
    }

    /// `x[..., dim]` → `[..., dim]`.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.gegluFeedForward(x, projection: projection.weight, projectionBias: projection.bias,
                                 output: output.weight, outputBias: output.bias)
    }
}
