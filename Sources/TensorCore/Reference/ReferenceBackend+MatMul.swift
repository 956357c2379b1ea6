extension ReferenceBackend {
    /// `torch.matmul`: `a[..., m, k] · b[..., k, n]` with the batch dimensions broadcast. A 1-d `a` is a row vector
    /// and a 1-d `b` a column vector, and their unit dimension is removed from the result, as in PyTorch.
    public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank >= 1 && b.rank >= 1, "matmul: scalars \(a.shape) · \(b.shape)")
        let a2 = a.rank == 1 ? a.reshaped([1, a.shape[0]]) : a
        let b2 = b.rank == 1 ? b.reshaped([b.shape[0], 1]) : b
        let m = a2.shape[a2.rank - 2], k = a2.shape[a2.rank - 1]
        let n = b2.shape[b2.rank - 1]
        precondition(b2.shape[b2.rank - 2] == k, "matmul: \(a.shape) · \(b.shape) inner dimensions differ")
        let aBatch = Array(a2.shape.dropLast(2)), bBatch = Array(b2.shape.dropLast(2))
        guard let batch = broadcastShape(aBatch, bBatch) else {
            preconditionFailure("matmul: batch dimensions of \(a.shape) and \(b.shape) do not broadcast")
        }
        let aOffsets = Self.broadcastOffsets(from: aBatch, to: batch)
        let bOffsets = Self.broadcastOffsets(from: bBatch, to: batch)
        let x = a2.scalars, y = b2.scalars
        var out = [Float](repeating: 0, count: aOffsets.count * m * n)
        for item in 0..<aOffsets.count {
            let aBase = aOffsets[item] * m * k, bBase = bOffsets[item] * k * n, oBase = item * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(x[aBase + i * k + p]) * Double(y[bBase + p * n + j]) }
                    out[oBase + i * n + j] = Float(sum)
                }
            }
        }
        var shape = batch
        if a.rank > 1 { shape.append(m) }
        if b.rank > 1 { shape.append(n) }
        return Tensor(shape: shape, scalars: out)
    }

    /// `torch.nn.functional.linear`: `x[..., in] · weight[out, in]ᵀ + bias[out]` → `[..., out]`.
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(x.rank >= 1 && weight.rank == 2 && weight.shape[1] == x.shape[x.rank - 1],
                     "linear: input \(x.shape), weight \(weight.shape)")
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) for weight \(weight.shape)") }
        let rows = inFeatures == 0 ? x.count : x.count / inFeatures
        let xs = x.scalars, w = weight.scalars, b = bias?.scalars
        var out = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var sum = Double(b?[o] ?? 0)
                for i in 0..<inFeatures { sum += Double(xs[r * inFeatures + i]) * Double(w[o * inFeatures + i]) }
                out[r * outFeatures + o] = Float(sum)
            }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], scalars: out)
    }
}
