/// Group normalisation (Wu & He, "Group Normalization", 2018) and layer normalisation (Ba, Kiros & Hinton,
/// "Layer Normalization", 2016), both with biased (population) variance, as PyTorch computes them.
extension ReferenceBackend {
    /// `torch.nn.functional.group_norm`: `x[N, C, ...]`, statistics over each group of `C/groups` channels and all
    /// spatial positions; `y = (x - μ) / √(σ² + ε) · weight[c] + bias[c]`.
    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.rank >= 2 && groups >= 1 && x.shape[1] % groups == 0, "groupNorm: \(x.shape), \(groups) groups")
        let batch = x.shape[0], channels = x.shape[1], spatial = x.shape[2...].reduce(1, *)
        if let weight { precondition(weight.count == channels, "groupNorm: weight \(weight.shape) for \(x.shape)") }
        if let bias { precondition(bias.count == channels, "groupNorm: bias \(bias.shape) for \(x.shape)") }
        let xs = x.scalars, w = weight?.scalars, b = bias?.scalars
        let perGroup = channels / groups, size = perGroup * spatial
        var out = [Float](repeating: 0, count: xs.count)
        for n in 0..<batch {
            for g in 0..<groups {
                let base = (n * channels + g * perGroup) * spatial
                var mean = 0.0
                for i in 0..<size { mean += Double(xs[base + i]) }
                mean /= Double(size)
                var variance = 0.0
                for i in 0..<size { variance += (Double(xs[base + i]) - mean) * (Double(xs[base + i]) - mean) }
                variance /= Double(size)
                let rstd = 1 / (variance + Double(epsilon)).squareRoot()
                for i in 0..<size {
                    let c = g * perGroup + i / spatial
                    let normalised = (Double(xs[base + i]) - mean) * rstd
                    out[base + i] = Float(normalised * Double(w?[c] ?? 1) + Double(b?[c] ?? 0))
                }
            }
        }
        return Tensor(shape: x.shape, scalars: out)
    }

    /// `torch.nn.functional.layer_norm` over the last dimension: `y = (x - μ) / √(σ² + ε) · weight + bias`.
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.rank >= 1, "layerNorm: scalar input")
        let dim = x.shape[x.rank - 1]
        if let weight { precondition(weight.count == dim, "layerNorm: weight \(weight.shape) for \(x.shape)") }
        if let bias { precondition(bias.count == dim, "layerNorm: bias \(bias.shape) for \(x.shape)") }
        let xs = x.scalars, w = weight?.scalars, b = bias?.scalars
        var out = [Float](repeating: 0, count: xs.count)
        let rows = dim == 0 ? 0 : xs.count / dim
        for r in 0..<rows {
            let base = r * dim
            var mean = 0.0
            for i in 0..<dim { mean += Double(xs[base + i]) }
            mean /= Double(dim)
            var variance = 0.0
            for i in 0..<dim { variance += (Double(xs[base + i]) - mean) * (Double(xs[base + i]) - mean) }
            variance /= Double(dim)
            let rstd = 1 / (variance + Double(epsilon)).squareRoot()
            for i in 0..<dim {
                out[base + i] = Float((Double(xs[base + i]) - mean) * rstd * Double(w?[i] ?? 1) + Double(b?[i] ?? 0))
            }
        }
        return Tensor(shape: x.shape, scalars: out)
    }
}
