extension ReferenceBackend {
    /// `torch.sum/mean/amax/amin(x, dim=dims, keepdim=keepDims)`. Dimensions may be negative; an empty `dims`
    /// reduces every dimension (as `torch.sum(x, dim=[])` does). `max` and `min` propagate NaN; sums accumulate in
    /// `Double`. Reducing an empty dimension gives 0 for `sum` and NaN for `mean`, and stops for `max`/`min`.
    public func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], keepDims: Bool) -> Tensor {
        let reduced = Set(dims.isEmpty ? Array(0..<x.rank) : dims.map { x.normalize($0) })
        let keptShape = x.shape.indices.map { reduced.contains($0) ? 1 : x.shape[$0] }
        let outShape = keepDims ? keptShape : x.shape.indices.filter { !reduced.contains($0) }.map { x.shape[$0] }
        let outCount = Tensor.elementCount(keptShape)
        let groupSize = reduced.reduce(1) { $0 * x.shape[$1] }
        precondition(groupSize > 0 || op == .sum || op == .mean, "reduce \(op): empty dimension in \(x.shape)")
        let outStrides = Tensor.contiguousStrides(keptShape)
        var sums = [Double](repeating: 0, count: outCount)
        var extreme = [Float](repeating: op == .max ? -.infinity : .infinity, count: outCount)
        var index = [Int](repeating: 0, count: x.rank)
        for value in x.scalars {
            var target = 0
            for d in 0..<x.rank where !reduced.contains(d) { target += index[d] * outStrides[d] }
            switch op {
            case .sum, .mean: sums[target] += Double(value)
            case .max: if value.isNaN || value > extreme[target] { extreme[target] = value }
            case .min: if value.isNaN || value < extreme[target] { extreme[target] = value }
            }
            var d = x.rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < x.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        let values: [Float]
        switch op {
        case .sum: values = sums.map { Float($0) }
        case .mean: values = sums.map { Float($0 / Double(groupSize)) }
        case .max, .min: values = extreme
        }
        return Tensor(shape: outShape, scalars: values)
    }

    /// `torch.nn.functional.embedding`: row `ids[i]` of `table[vocab, dim]` for every id → `[ids..., dim]`.
    /// Ids are read as int64 (float ids are truncated) and must lie in `0..<vocab`.
    public func embedding(_ ids: Tensor, table: Tensor) -> Tensor {
        precondition(table.rank == 2, "embedding: table \(table.shape) is not [vocab, dim]")
        let vocab = table.shape[0], dim = table.shape[1]
        var out = [Float]()
        out.reserveCapacity(ids.count * dim)
        for id in ids.int64Values {
            precondition(id >= 0 && id < vocab, "embedding: id \(id) outside a table of \(vocab) rows")
            // Only the rows used are converted (tables are often float16 and large).
            out += table.narrowed(dim: 0, start: Int(id), length: 1).scalars
        }
        return Tensor(shape: ids.shape + [dim], scalars: out)
    }
}
