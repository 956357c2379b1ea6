/// Softmax and scaled dot-product attention (Vaswani et al., "Attention Is All You Need", 2017).
extension ReferenceBackend {
    /// `torch.softmax(x, dim=-1)`, numerically stable: `e^(x - max) / Σ e^(x - max)`. A row whose entries are all
    /// `-inf` gives NaN, as in PyTorch.
    public func softmax(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1, "softmax: scalar input")
        let dim = x.shape[x.rank - 1]
        var values = x.scalars
        let rows = dim == 0 ? 0 : values.count / dim
        for r in 0..<rows {
            values.withUnsafeMutableBufferPointer { all in
                Self.softmaxRow(UnsafeMutableBufferPointer(rebasing: all[(r * dim)..<((r + 1) * dim)]))
            }
        }
        return Tensor(shape: x.shape, scalars: values)
    }

    /// `torch.nn.functional.scaled_dot_product_attention`: `softmax(q·kᵀ·scale + mask) · v`.
    ///
    /// `query[..., Lq, D]`, `key[..., Lk, D]`, `value[..., Lk, Dv]` with equal leading dimensions (usually
    /// `[B, H]`); `mask` is additive and broadcasts to `[..., Lq, Lk]`; `scale` defaults to `1/√D`.
    /// - Returns: `[..., Lq, Dv]`.
    public func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, scale: Float?) -> Tensor {
        let shape = AttentionShape(query: query, key: key, value: value)
        let lead = shape.lead
        let lq = shape.queryLength, d = shape.headDim, lk = shape.keyLength, dv = shape.valueDim
        let scores = lead + [lq, lk]
        let maskOffsets = mask.map { Self.broadcastOffsets(from: $0.shape, to: scores) }
        let maskValues = mask?.scalars
        let q = query.scalars, k = key.scalars, v = value.scalars
        let alpha = Double(scale ?? 1 / Float(d).squareRoot())
        let items = lead.reduce(1, *)
        var out = [Float](repeating: 0, count: items * lq * dv)
        var logits = [Double](repeating: 0, count: lk)
        for item in 0..<items {
            for i in 0..<lq {
                for j in 0..<lk {
                    var dot = 0.0
                    for p in 0..<d { dot += Double(q[(item * lq + i) * d + p]) * Double(k[(item * lk + j) * d + p]) }
                    logits[j] = dot * alpha
                    if let maskOffsets, let maskValues {
                        logits[j] += Double(maskValues[maskOffsets[(item * lq + i) * lk + j]])
                    }
                }
                let m = logits.max() ?? 0
                var total = 0.0
                for j in 0..<lk {
                    logits[j] = ReferenceMath.exp(logits[j] - m)
                    total += logits[j]
                }
                for e in 0..<dv {
                    var sum = 0.0
                    for j in 0..<lk { sum += logits[j] * Double(v[(item * lk + j) * dv + e]) }
                    out[(item * lq + i) * dv + e] = Float(sum / total)
                }
            }
        }
        return Tensor(shape: lead + [lq, dv], scalars: out)
    }

    /// Softmax of one row in place, in `Double`.
    static func softmaxRow(_ row: UnsafeMutableBufferPointer<Float>) {
        var m = -Double.infinity
        for value in row { m = Swift.max(m, Double(value)) }
        if row.contains(where: { $0.isNaN }) { m = .nan }
        var exps = [Double](repeating: 0, count: row.count)
        var total = 0.0
        for i in row.indices {
            exps[i] = ReferenceMath.exp(Double(row[i]) - m)
            total += exps[i]
        }
        for i in row.indices { row[i] = Float(exps[i] / total) }
    }
}
