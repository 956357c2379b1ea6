import CDNNL
import TensorCore

extension CPUEngine {
    /// A GEGLU feed-forward over `rows` rows of `x[rows, dim]`, in blocks of rows, each three oneDNN matmuls:
    /// the gate half of the projection with GELU applied as it is written, the value half multiplied by that gate
    /// as it is written (and rounded to bfloat16 when the weights are), then the output projection straight into
    /// `y[rows, outDim]`. The `2·inner`-wide projection exists for one block only, in two reused buffers, so the
    /// whole layer touches no fresh memory beyond `y` and reads none of its intermediates back from DRAM.
    ///
    /// - Parameters:
    ///   - x: dense rows, bfloat16 when `bfloat16`, else float32.
    ///   - projection: `[2·inner, dim]` (value rows first, then gate rows), the same type as `x`.
    ///   - output: `[outDim, inner]`, the same type as `x`.
    /// - Throws: ``KernelError`` when oneDNN rejects a product (the caller composes the layer from plain ops).
    public func gegluFeedForward(
        x: UnsafeRawPointer, rows: Int, dim: Int, inner: Int, outDim: Int,
        projection: UnsafeRawPointer, projectionBias: UnsafePointer<Float>?,
        output: UnsafeRawPointer, outputBias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, bfloat16: Bool
    ) throws {
        guard rows > 0, outDim > 0 else { return }
        precondition(dim > 0 && inner > 0, "gegluFeedForward: empty layer")
        let type = bfloat16 ? dnnl_bf16 : dnnl_f32
        let size = bfloat16 ? 2 : 4
        // Blocks of about 16 MiB of float32 gate (a multiple of 64 rows), so a block's intermediates stay in the
        // last-level cache and the weights are read once per block.
        let block = min(rows, max(64, (16 << 20) / (inner * 4) / 64 * 64))
        // Through the tensor block cache: the next layer of the same width gets the same two buffers back.
        let cache = StorageBlockCache.shared
        let gateBytes = block * inner * 4, hiddenBytes = block * inner * size
        let gateBlock = cache.allocate(byteCount: gateBytes), hidden = cache.allocate(byteCount: hiddenBytes)
        defer {
            cache.deallocate(gateBlock, byteCount: gateBytes)
            cache.deallocate(hidden, byteCount: hiddenBytes)
        }
        let gate = gateBlock.assumingMemoryBound(to: Float.self)
        var start = 0
        while start < rows {
            let m = min(block, rows - start)
            let input = x + start * dim * size
            try dnnlMatmul(transA: false, transB: true, m: m, n: inner, k: dim, alpha: 1, a: input, lda: dim,
                           b: projection + inner * dim * size, ldb: dim, beta: 0, c: gate, ldc: inner, batch: 1,
                           strideA: 0, strideB: 0, strideC: 0, inputType: type, bias: projectionBias.map { $0 + inner },
                           postOp: .gelu)
            try dnnlMatmul(transA: false, transB: true, m: m, n: inner, k: dim, alpha: 1, a: input, lda: dim,
                           b: projection, ldb: dim, beta: 0, c: hidden, ldc: inner, batch: 1,
                           strideA: 0, strideB: 0, strideC: 0, inputType: type, outputType: type, bias: projectionBias,
                           postOp: .multiply(gate, ld: inner))
            try dnnlMatmul(transA: false, transB: true, m: m, n: outDim, k: inner, alpha: 1, a: hidden, lda: inner,
                           b: output, ldb: inner, beta: 0, c: y + start * outDim, ldc: outDim, batch: 1,
                           strideA: 0, strideB: 0, strideC: 0, inputType: type, bias: outputBias)
            start += m
        }
    }
}

extension CPUBackend {
    /// ``CPUEngine/gegluFeedForward(x:rows:dim:inner:outDim:projection:projectionBias:output:outputBias:y:bfloat16:)``
    /// in bfloat16 when both weights are bfloat16 (the input rounded once, as `linear` does), else in float32; the
    /// composition of plain ops when oneDNN rejects it.
    public func gegluFeedForward(_ x: Tensor, projection: Tensor, projectionBias: Tensor?, output: Tensor,
                                 outputBias: Tensor?) -> Tensor {
        let dim = x.shape.last ?? 0, inner = output.shape.count == 2 ? output.shape[1] : 0
        precondition(projection.shape == [2 * inner, dim] && output.rank == 2,
                     "gegluFeedForward: input \(x.shape), projection \(projection.shape), output \(output.shape)")
        let outDim = output.shape[0], rows = x.count / max(dim, 1)
        let bfloat16 = projection.dtype == .bfloat16 && output.dtype == .bfloat16
        guard rows > 0, dim > 0, inner > 0 else {
            return composedGEGLUFeedForward(x, projection: projection, projectionBias: projectionBias, output: output,
                                            outputBias: outputBias)
        }
        let input = bfloat16 ? self.bfloat16(x) : Self.dense(x)
        let w1 = bfloat16 ? projection.contiguous() : Self.dense(projection)
        let w2 = bfloat16 ? output.contiguous() : Self.dense(output)
        let b1 = projectionBias.map(Self.dense), b2 = outputBias.map(Self.dense)
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outDim])
        let done: Bool = withExtendedLifetime((input, w1, w2, b1, b2, out)) {
            do {
                try engine.gegluFeedForward(
                    x: input.baseAddress, rows: rows, dim: dim, inner: inner, outDim: outDim,
                    projection: w1.baseAddress, projectionBias: b1.map { UnsafePointer(Self.pointer($0)) },
                    output: w2.baseAddress, outputBias: b2.map { UnsafePointer(Self.pointer($0)) },
                    y: Self.pointer(out), bfloat16: bfloat16)
                return true
            } catch {
                return false
            }
        }
        return done ? out : composedGEGLUFeedForward(x, projection: projection, projectionBias: projectionBias, output: output,
                                            outputBias: outputBias)
    }
}
