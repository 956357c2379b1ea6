import TensorCore
import CBLAS
import CDNNL

/// Which library runs a GEMM.
public enum GEMMBackend: Sendable, Hashable {
    /// TensorCPU picks (see ``CPUEngine/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:batch:strideA:strideB:strideC:backend:)``).
    case automatic
    /// OpenBLAS `cblas_sgemm`, one call per batch item.
    case openBLAS
    /// One oneDNN matmul primitive over the whole batch.
    case oneDNN
}

/// An elementwise step oneDNN's matmul applies to each result before writing it (after the bias).
enum MatmulPostOp {
    /// GELU, erf form.
    case gelu
    /// Times the same element of a float32 matrix laid out like C (row stride `ld`).
    case multiply(UnsafePointer<Float>, ld: Int)
}

extension CPUEngine {
    /// Single-precision GEMM on row-major matrices: `C = alpha · op(A) · op(B) + beta · C`, optionally batched.
    ///
    /// `op(A)` is `m×k` (A stored `k×m` when `transA`), `op(B)` is `k×n` (B stored `n×k` when `transB`), C is `m×n`.
    /// Batch item `i` uses `a + i·strideA`, `b + i·strideB`, `c + i·strideC`; a stride of 0 broadcasts an operand.
    /// `.automatic` runs one oneDNN matmul (the whole batch at once) and falls back to OpenBLAS when oneDNN fails.
    ///
    /// - Parameters:
    ///   - lda, ldb, ldc: row strides (leading dimensions) of the stored matrices, in elements.
    ///   - backend: which library runs it; oneDNN failures fall back to OpenBLAS.
    public func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        batch: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0, backend: GEMMBackend = .automatic,
        bias: UnsafePointer<Float>? = nil
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0 && batch >= 0, "sgemm: negative size")
        precondition(bias == nil || (alpha == 1 && beta == 0), "sgemm: a bias goes with alpha 1 and beta 0")
        precondition(lda >= max(1, transA ? m : k) && ldb >= max(1, transB ? k : n) && ldc >= max(1, n),
                     "sgemm: leading dimension too small")
        guard m > 0, n > 0, batch > 0 else { return }
        // oneDNN for everything it accepts. Its JIT kernels use AVX-512 where the CPU has it (Debian's OpenBLAS 0.3.21
        // stops at AVX2: 2048² on 2 Zen 5 cores, 455 vs 234 GFLOP/s), one matmul covers a whole batch (attention's
        // 8×[1024×40]·[40×1024]: 94 vs 43 GFLOP/s looping cblas_sgemm), and keeping every product on oneDNN's OpenMP
        // pool leaves OpenBLAS's threads idle instead of competing with it for the cores (an SD1.x step at 256² on
        // 2 cores: 1.3 s instead of 1.8 s with OpenBLAS for the unbatched products).
        let useDNNL = backend != .openBLAS
        if useDNNL, k > 0 {
            do {
                try dnnlMatmul(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, batch: batch,
                               strideA: strideA, strideB: strideB, strideC: strideC, bias: bias)
                return
            } catch {
                // Fall through to OpenBLAS, which handles every valid configuration.
            }
        }
        if let bias { fillRows(c, rows: m, columns: n, ldc: ldc, batch: batch, strideC: strideC, with: bias) }
        for item in 0..<batch {
            cblas_sgemm(
                CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a + item * strideA, Int32(lda), b + item * strideB, Int32(ldb),
                bias == nil ? beta : 1, c + item * strideC, Int32(ldc))
        }
    }

    /// Copies `row` into every row of `batch` matrices of `rows × columns` (row stride `ldc`).
    func fillRows(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ldc: Int, batch: Int = 1,
                  strideC: Int = 0, with row: UnsafePointer<Float>) {
        parallelFor(batch * rows, grain: max(1, 16384 / max(1, columns))) { range in
            for index in range {
                (c + index / rows * strideC + index % rows * ldc).update(from: row, count: columns)
            }
        }
    }

    /// A fully connected layer in PyTorch's layout: `y = x · Wᵀ + b`.
    ///
    /// - Parameters:
    ///   - x: `rows × inFeatures`, row stride `ldx` (defaults to `inFeatures`).
    ///   - weight: `outFeatures × inFeatures`, contiguous (PyTorch's `nn.Linear.weight`).
    ///   - bias: `outFeatures` values, or `nil`.
    ///   - y: `rows × outFeatures`, contiguous; overwritten.
    public func linear(
        x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int, y: UnsafeMutablePointer<Float>
    ) {
        guard rows > 0, outFeatures > 0 else { return }
        guard inFeatures > 0 else {
            if let bias { fillRows(y, rows: rows, columns: outFeatures, ldc: outFeatures, with: bias) }
            else { y.update(repeating: 0, count: rows * outFeatures) }
            return
        }
        sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx ?? inFeatures,
              b: weight, ldb: inFeatures, c: y, ldc: outFeatures, bias: bias)
    }

    /// The oneDNN matmul path of ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:batch:strideA:strideB:strideC:backend:)``.
    func dnnlMatmul(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafeRawPointer, lda: Int, b: UnsafeRawPointer, ldb: Int, beta: Float,
        c: UnsafeMutableRawPointer, ldc: Int, batch: Int, strideA: Int, strideB: Int, strideC: Int,
        inputType: dnnl_data_type_t = dnnl_f32, outputType: dnnl_data_type_t = dnnl_f32,
        bias: UnsafePointer<Float>? = nil, postOp: MatmulPostOp? = nil
    ) throws {
        // A zero batch stride (broadcast) becomes a batch dimension of 1, which oneDNN broadcasts. A batch dimension
        // of 1 gets the stride of a dense batch: oneDNN 2.6 only takes its brgemm kernels (about twice as fast as its
        // gemm:jit fallback) for layouts it recognises as plain, and a unit dimension with stride 1 is not one.
        let batchA = strideA == 0 || batch == 1 ? 1 : batch
        let batchB = strideB == 0 || batch == 1 ? 1 : batch
        let aRows = transA ? k : m, bRows = transB ? n : k
        let aDims = [batchA, m, k], aStrides = [batchA == 1 ? aRows * lda : strideA, transA ? 1 : lda, transA ? lda : 1]
        let bDims = [batchB, k, n], bStrides = [batchB == 1 ? bRows * ldb : strideB, transB ? 1 : ldb, transB ? ldb : 1]
        let cDims = [batch, m, n], cStrides = [batch == 1 ? m * ldc : strideC, ldc, 1]
        var kind = inputType == dnnl_f32 ? "matmul" : "matmul_bf16"
        if outputType != dnnl_f32 { kind += "_to_bf16" }
        if bias != nil { kind += "_bias" }
        var postOpInts: [Int] = []
        switch postOp {
        case nil: break
        case .gelu: kind += "_gelu"
        case .multiply(_, let ld):
            kind += "_mul"
            postOpInts = [ld]
        }
        let key = PrimitiveKey(kind: kind, ints: aDims + aStrides + bDims + bStrides + cDims + cStrides + postOpInts,
                               floats: [alpha, beta])
        let aMD = try memoryDescriptor(aDims, strides: aStrides, type: inputType)
        let bMD = try memoryDescriptor(bDims, strides: bStrides, type: inputType)
        let cMD = try memoryDescriptor(cDims, strides: cStrides, type: outputType)
        // A multiplier read like a float32 C (one matrix per batch item).
        var factorMD: dnnl_memory_desc_t?
        if case .multiply(_, let ld) = postOp {
            factorMD = try memoryDescriptor(cDims, strides: [batch == 1 ? m * ld : strideC, ld, 1])
        }
        // The bias is one row broadcast over every batch item and row.
        let biasMD = bias == nil ? nil : try memoryDescriptor([1, 1, n], strides: [n, n, 1])
        try runDNNL(key) { engine in
            var op = dnnl_matmul_desc_t()
            var (aMD, bMD, cMD) = (aMD, bMD, cMD)
            if var biasMD {
                try check(dnnl_matmul_desc_init(&op, &aMD, &bMD, &biasMD, &cMD), "dnnl_matmul_desc_init")
            } else {
                try check(dnnl_matmul_desc_init(&op, &aMD, &bMD, nil, &cMD), "dnnl_matmul_desc_init")
            }
            var attr: dnnl_primitive_attr_t?
            try check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
            defer { dnnl_primitive_attr_destroy(attr) }
            if alpha != 1 {
                var scale = alpha
                try check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale), "set_output_scales")
            }
            if beta != 0 || postOp != nil {
                var postOps: dnnl_post_ops_t?
                try check(dnnl_post_ops_create(&postOps), "dnnl_post_ops_create")
                defer { dnnl_post_ops_destroy(postOps) }
                if beta != 0 { try check(dnnl_post_ops_append_sum(postOps, beta), "dnnl_post_ops_append_sum") }
                switch postOp {
                case nil: break
                case .gelu:
                    try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_gelu_erf, 0, 0), "append_eltwise")
                case .multiply:
                    var md = factorMD!
                    try check(dnnl_post_ops_append_binary(postOps, dnnl_binary_mul, &md), "append_binary")
                }
                try check(dnnl_primitive_attr_set_post_ops(attr, postOps), "set_post_ops")
            }
            return try primitiveDescriptor(&op, engine: engine, attr: attr, "matmul pd")
        } args: { _ in
            var args = [(DNNL_ARG_SRC, aMD, a), (DNNL_ARG_WEIGHTS, bMD, b), (DNNL_ARG_DST, cMD, UnsafeRawPointer(c))]
            if let bias, let biasMD { args.append((DNNL_ARG_BIAS, biasMD, UnsafeRawPointer(bias))) }
            if case .multiply(let factor, _) = postOp {
                // The first (or, after a sum, second) post-op's second source.
                let index = Int32(beta != 0 ? 1 : 0)
                args.append((DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * (index + 1) | DNNL_ARG_SRC_1, factorMD!,
                             UnsafeRawPointer(factor)))
            }
            return args
        }
    }

    /// GEMM with the contract of ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:batch:strideA:strideB:strideC:backend:)``
    /// on bfloat16 operands, accumulating and writing float32 (oneDNN's `avx512_core_bf16` kernels where the CPU
    /// has them, an emulation where it does not).
    ///
    /// - Parameters:
    ///   - a, b: bfloat16 elements (raw 16-bit patterns), laid out as in `sgemm`.
    /// - Throws: ``KernelError`` when oneDNN rejects the configuration.
    public func gemmBFloat16(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafeRawPointer, lda: Int, b: UnsafeRawPointer, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int, batch: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0,
        bias: UnsafePointer<Float>? = nil
    ) throws {
        precondition(m >= 0 && n >= 0 && k >= 0 && batch >= 0, "gemmBFloat16: negative size")
        precondition(bias == nil || (alpha == 1 && beta == 0), "gemmBFloat16: a bias goes with alpha 1 and beta 0")
        guard m > 0, n > 0, batch > 0 else { return }
        guard k > 0 else {
            // Nothing to accumulate: C = bias, or C = beta · C.
            if let bias {
                fillRows(c, rows: m, columns: n, ldc: ldc, batch: batch, strideC: strideC, with: bias)
                return
            }
            for item in 0..<batch {
                for row in 0..<m {
                    let r = c + item * strideC + row * ldc
                    for j in 0..<n { r[j] = beta == 0 ? 0 : beta * r[j] }
                }
            }
            return
        }
        try dnnlMatmul(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc, batch: batch, strideA: strideA, strideB: strideB, strideC: strideC,
                       inputType: dnnl_bf16, bias: bias)
    }

    /// Rounds `count` float32 values to bfloat16 (round to nearest even, NaN kept), on the engine's threads.
    public func narrowToBFloat16(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count: Int) {
        let out = y.assumingMemoryBound(to: UInt16.self)
        parallelFor(count, grain: 1 << 16) { range in
            BFloat16Rounding.narrow(x + range.lowerBound, out + range.lowerBound, range.count)
        }
    }
}

extension KernelReference {
    /// Naive batched row-major GEMM with the same contract as ``CPUEngine/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:batch:strideA:strideB:strideC:backend:)``.
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int, batch: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0
    ) {
        for item in 0..<batch {
            let a = a + item * strideA, b = b + item * strideB, c = c + item * strideC
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Double = 0
                    for p in 0..<k {
                        let av = transA ? a[p * lda + i] : a[i * lda + p]
                        let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                        sum += Double(av) * Double(bv)
                    }
                    let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                    c[i * ldc + j] = Float(Double(alpha) * sum + prior)
                }
            }
        }
    }

    /// Naive `y = x · Wᵀ + b`.
    public static func linear(
        x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, outFeatures: Int, y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var sum = Double(bias?[o] ?? 0)
                for i in 0..<inFeatures { sum += Double(x[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                y[r * outFeatures + o] = Float(sum)
            }
        }
    }
}
