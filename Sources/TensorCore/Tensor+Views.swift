extension Tensor {
    /// The same elements with another shape of equal count: a view when contiguous, else a copy.
    /// One dimension may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(Tensor.elementCount(resolved) == count, "cannot reshape \(shape) to \(newShape)")
        let source = isContiguous ? self : contiguous()
        return Tensor(storage: source.storage, dtype: dtype, shape: resolved, offset: source.offset)
    }

    /// Reorders dimensions (a view): result dimension `i` is this tensor's dimension `dims[i]`.
    public func permuted(_ dims: [Int]) -> Tensor {
        precondition(dims.sorted() == Array(0..<rank), "\(dims) is not a permutation of \(rank) dimensions")
        return Tensor(storage: storage, dtype: dtype, shape: dims.map { shape[$0] }, strides: dims.map { strides[$0] },
                      offset: offset)
    }

    /// Swaps two dimensions (a view).
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var dims = Array(0..<rank)
        dims.swapAt(normalize(a), normalize(b))
        return permuted(dims)
    }

    /// Elements `start ..< start + length` along `dim` (a view).
    public func narrowed(dim: Int, start: Int, length: Int) -> Tensor {
        let d = normalize(dim)
        precondition(start >= 0 && length >= 0 && start + length <= shape[d], "narrow \(start)+\(length) outside \(shape[d])")
        var newShape = shape
        newShape[d] = length
        return Tensor(storage: storage, dtype: dtype, shape: newShape, strides: strides, offset: offset + start * strides[d])
    }

    /// Elements `range` along the first dimension (a view).
    public func slice(batch range: Range<Int>) -> Tensor {
        narrowed(dim: 0, start: range.lowerBound, length: range.count)
    }

    /// Broadcasts size-1 dimensions (and new leading ones) to `newShape` with stride 0 (a view).
    public func expanded(to newShape: [Int]) -> Tensor {
        precondition(newShape.count >= rank, "cannot expand \(shape) to \(newShape)")
        let lead = newShape.count - rank
        var newStrides = [Int](repeating: 0, count: newShape.count)
        for i in 0..<rank {
            let target = newShape[lead + i]
            if shape[i] == target {
                newStrides[lead + i] = strides[i]
            } else {
                precondition(shape[i] == 1, "cannot expand \(shape) to \(newShape)")
            }
        }
        return Tensor(storage: storage, dtype: dtype, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Inserts a size-1 dimension at `dim` (a view).
    public func unsqueezed(_ dim: Int) -> Tensor {
        let d = dim < 0 ? dim + rank + 1 : dim
        var newShape = shape
        var newStrides = strides
        newShape.insert(1, at: d)
        newStrides.insert(d < rank ? strides[d] * shape[d] : 1, at: d)
        return Tensor(storage: storage, dtype: dtype, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Removes a size-1 dimension (a view).
    public func squeezed(_ dim: Int) -> Tensor {
        let d = normalize(dim)
        precondition(shape[d] == 1, "dimension \(d) of \(shape) is not 1")
        var newShape = shape
        var newStrides = strides
        newShape.remove(at: d)
        newStrides.remove(at: d)
        return Tensor(storage: storage, dtype: dtype, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Joins tensors along `dim`; every other dimension must agree. The result takes the first
    /// tensor's dtype.
    public static func concatenated(_ tensors: [Tensor], dim: Int) -> Tensor {
        precondition(!tensors.isEmpty, "nothing to concatenate")
        let first = tensors[0]
        let d = first.normalize(dim)
        var outShape = first.shape
        outShape[d] = 0
        for t in tensors {
            precondition(t.rank == first.rank, "rank mismatch in concatenation")
            for i in 0..<t.rank where i != d { precondition(t.shape[i] == first.shape[i], "shape mismatch \(t.shape) vs \(first.shape)") }
            outShape[d] += t.shape[d]
        }
        let out = Tensor(uninitialized: outShape, dtype: first.dtype)
        let size = first.dtype.byteSize
        let outer = outShape[..<d].reduce(1, *)
        let rowBytes = outShape[d...].reduce(1, *) * size
        var columnStart = 0
        for t in tensors {
            let part = t.contiguous(as: first.dtype)
            let partRow = part.shape[d...].reduce(1, *) * size
            for o in 0..<outer {
                (out.baseAddress + o * rowBytes + columnStart).copyMemory(from: part.baseAddress + o * partRow, byteCount: partRow)
            }
            columnStart += partRow
        }
        return out
    }

    /// Concatenates along the first dimension.
    public static func concatenate(batches: [Tensor]) -> Tensor { concatenated(batches, dim: 0) }

    /// A negative dimension counts from the end.
    public func normalize(_ dim: Int) -> Int {
        let d = dim < 0 ? dim + rank : dim
        precondition(d >= 0 && d < rank, "dimension \(dim) out of range for rank \(rank)")
        return d
    }
}
