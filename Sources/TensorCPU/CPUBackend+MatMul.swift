import TensorCore

extension CPUBackend {
    /// `torch.matmul` on ``CPUEngine/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:batch:strideA:strideB:strideC:backend:)``.
    ///
    /// A transposed view (unit row stride) becomes GEMM's transpose flag rather than a copy; batch dimensions that
    /// form one evenly strided run (or are broadcast: stride 0) become one batched GEMM; anything else loops over
    /// the batch items. 1-d operands follow PyTorch (row vector / column vector, unit dimension removed).
    public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank >= 1 && b.rank >= 1, "matmul: scalars \(a.shape) · \(b.shape)")
        let a2 = a.rank == 1 ? a.unsqueezed(0) : a
        let b2 = b.rank == 1 ? b.unsqueezed(-1) : b
        let m = a2.shape[a2.rank - 2], k = a2.shape[a2.rank - 1], n = b2.shape[b2.rank - 1]
        precondition(b2.shape[b2.rank - 2] == k, "matmul: \(a.shape) · \(b.shape) inner dimensions differ")
        let aBatch = Array(a2.shape.dropLast(2)), bBatch = Array(b2.shape.dropLast(2))
        guard let batch = broadcastShape(aBatch, bBatch) else {
            preconditionFailure("matmul: batch dimensions of \(a.shape) and \(b.shape) do not broadcast")
        }
        var shape = batch
        if a.rank > 1 { shape.append(m) }
        if b.rank > 1 { shape.append(n) }
        let out = k > 0 ? Tensor(uninitialized: shape) : Tensor(zeros: shape)
        let count = batch.reduce(1, *)
        guard count > 0, m > 0, n > 0, k > 0 else { return out }

        let (x, xLayout) = Self.matrixOperand(a2)
        let (y, yLayout) = Self.matrixOperand(b2)
        // Batch strides of each operand, aligned to `batch` (0 where broadcast).
        func batchStrides(_ t: Tensor) -> [Int] {
            let lead = batch.count - (t.rank - 2)
            return batch.indices.map { d in
                d < lead || t.shape[d - lead] == 1 ? 0 : t.strides[d - lead]
            }
        }
        let xStrides = batchStrides(x), yStrides = batchStrides(y)
        withExtendedLifetime((x, y, out)) {
            let pa = Self.pointer(x), pb = Self.pointer(y), pc = Self.pointer(out)
            if let sa = Self.singleStride(batch, xStrides), let sb = Self.singleStride(batch, yStrides) {
                engine.sgemm(transA: xLayout.transposed, transB: yLayout.transposed, m: m, n: n, k: k,
                             a: pa, lda: xLayout.leading, b: pb, ldb: yLayout.leading, c: pc, ldc: n,
                             batch: count, strideA: sa, strideB: sb, strideC: m * n)
                return
            }
            let batchShapeStrides = Tensor.contiguousStrides(batch)
            for item in 0..<count {
                var offA = 0, offB = 0
                for d in batch.indices {
                    let index = item / batchShapeStrides[d] % batch[d]
                    offA += index * xStrides[d]
                    offB += index * yStrides[d]
                }
                engine.sgemm(transA: xLayout.transposed, transB: yLayout.transposed, m: m, n: n, k: k,
                             a: pa + offA, lda: xLayout.leading, b: pb + offB, ldb: yLayout.leading,
                             c: pc + item * m * n, ldc: n)
            }
        }
        return out
    }

    /// `x[..., in] · weight[out, in]ᵀ + bias` as one GEMM over all rows (the weight read transposed in place; the
    /// leading dimensions of `x` kept as a view when they form one evenly strided run of rows).
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(x.rank >= 1 && weight.rank == 2 && weight.shape[1] == x.shape[x.rank - 1],
                     "linear: input \(x.shape), weight \(weight.shape)")
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) for weight \(weight.shape)") }
        let rows = x.shape.dropLast().reduce(1, *)
        let outShape = Array(x.shape.dropLast()) + [outFeatures]
        let out = inFeatures > 0 || bias != nil ? Tensor(uninitialized: outShape) : Tensor(zeros: outShape)
        guard rows > 0, outFeatures > 0 else { return out }
        if weight.dtype == .bfloat16, inFeatures > 0, let y = linearBFloat16(x, weight: weight, bias: bias, out: out) {
            return y
        }
        var xs = Self.float32(x)
        let lead = Array(xs.shape.dropLast())
        if Self.singleStride(lead, Array(xs.strides.dropLast())) == nil { xs = xs.contiguous() }
        let rowStride = Self.singleStride(lead, Array(xs.strides.dropLast()))!
        let matrix = Tensor(storage: xs.storage, dtype: .float32, shape: [rows, inFeatures],
                            strides: [rowStride, xs.strides[xs.rank - 1]], offset: xs.offset)
        let (a, aLayout) = Self.matrixOperand(matrix)
        let (w, wLayout) = Self.matrixOperand(weight.transposed(0, 1))
        let b = bias.map(Self.dense)
        withExtendedLifetime((a, w, b, out)) {
            let y = Self.pointer(out), pb = b.map { UnsafePointer(Self.pointer($0)) }
            guard inFeatures > 0 else {
                if let pb { engine.fillRows(y, rows: rows, columns: outFeatures, ldc: outFeatures, with: pb) }
                return
            }
            engine.sgemm(transA: aLayout.transposed, transB: wLayout.transposed, m: rows, n: outFeatures, k: inFeatures,
                         a: Self.pointer(a), lda: aLayout.leading, b: Self.pointer(w), ldb: wLayout.leading,
                         c: y, ldc: outFeatures, bias: pb)
        }
        return out
    }

    /// `linear` with bfloat16 weights: the input rounded to bfloat16 and one bfloat16 GEMM accumulating in float32
    /// (what PyTorch does for a bfloat16 model), or `nil` when oneDNN rejects it.
    func linearBFloat16(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor) -> Tensor? {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        let rows = x.count / inFeatures
        let input = bfloat16(x), w = weight.contiguous()
        let b = bias.map(Self.dense)
        let succeeded: Bool = withExtendedLifetime((input, w, b, out)) {
            do {
                try engine.gemmBFloat16(transB: true, m: rows, n: outFeatures, k: inFeatures, a: input.baseAddress,
                                        lda: inFeatures, b: w.baseAddress, ldb: inFeatures, c: Self.pointer(out),
                                        ldc: outFeatures, bias: b.map { UnsafePointer(Self.pointer($0)) })
                return true
            } catch {
                return false
            }
        }
        return succeeded ? out : nil
    }

    /// `t` as a dense bfloat16 tensor (float32 values rounded to nearest even on the engine's threads).
    func bfloat16(_ t: Tensor) -> Tensor {
        if t.dtype == .bfloat16 { return t.contiguous() }
        let source = Self.dense(t)
        let out = Tensor(uninitialized: t.shape, dtype: .bfloat16)
        withExtendedLifetime((source, out)) {
            engine.narrowToBFloat16(Self.pointer(source), out.baseAddress, count: out.count)
        }
        return out
    }

    /// How GEMM reads the last two dimensions of a float32 matrix view.
    struct MatrixLayout {
        /// Stored column-major (unit row stride): GEMM's transpose flag.
        var transposed: Bool
        /// The leading dimension (row stride, or column stride when transposed), in elements.
        var leading: Int
    }

    /// `t` (float32, converted if needed, made dense if GEMM cannot read its layout) and its GEMM layout.
    static func matrixOperand(_ t: Tensor) -> (Tensor, MatrixLayout) {
        let t = float32(t)
        if let layout = matrixLayout(t) { return (t, layout) }
        let copy = t.contiguous()
        return (copy, matrixLayout(copy)!)
    }

    /// The GEMM layout of the last two dimensions of `t`, or `nil` when neither rows nor columns are unit-strided.
    static func matrixLayout(_ t: Tensor) -> MatrixLayout? {
        let r = t.shape[t.rank - 2], c = t.shape[t.rank - 1]
        let sr = t.strides[t.rank - 2], sc = t.strides[t.rank - 1]
        if (c == 1 || sc == 1) && (r == 1 || sr >= c) {
            return MatrixLayout(transposed: false, leading: r == 1 ? max(1, c) : max(1, sr))
        }
        if (r == 1 || sr == 1) && (c == 1 || sc >= r) {
            return MatrixLayout(transposed: true, leading: c == 1 ? max(1, r) : max(1, sc))
        }
        return nil
    }
}
