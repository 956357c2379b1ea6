import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// The memory layout of one `[batch, heads, length, dim]` attention operand; the last dimension is contiguous.
///
/// Strided layouts let a projection's `[batch, length, heads·dim]` output be read as heads without a copy:
/// `AttentionLayout(batchStride: L·H·D, headStride: D, rowStride: H·D)`.
public struct AttentionLayout: Hashable, Sendable {
    public var batchStride: Int
    public var headStride: Int
    public var rowStride: Int

    public init(batchStride: Int, headStride: Int, rowStride: Int) {
        self.batchStride = batchStride
        self.headStride = headStride
        self.rowStride = rowStride
    }

    /// The contiguous `[batch, heads, length, dim]` layout.
    public static func contiguous(heads: Int, length: Int, dim: Int) -> AttentionLayout {
        AttentionLayout(batchStride: heads * length * dim, headStride: length * dim, rowStride: dim)
    }
}

/// An additive attention mask `[batch, heads, queries, keys]`, keys contiguous; a zero stride broadcasts a dimension
/// (a `[queries, keys]` causal mask has `batchStride: 0, headStride: 0, rowStride: keys`).
public struct AttentionMask {
    public var values: UnsafePointer<Float>
    public var batchStride: Int
    public var headStride: Int
    public var rowStride: Int

    public init(values: UnsafePointer<Float>, batchStride: Int, headStride: Int, rowStride: Int) {
        self.values = values
        self.batchStride = batchStride
        self.headStride = headStride
        self.rowStride = rowStride
    }
}

extension CPUEngine {
    /// Scaled dot-product attention (Vaswani et al., "Attention Is All You Need", 2017):
    /// `out = softmax(scale · Q·Kᵀ + mask) · V` per batch item and head.
    ///
    /// Built from batched sgemm (all heads at once) and the softmax kernel, chunked over queries so the score buffer
    /// holds at most `scoreBudget` floats (default 4 M = 16 MiB) whatever the sequence length.
    ///
    /// - Parameters:
    ///   - q: `[batch, heads, queryLength, headDim]` in `qLayout` (contiguous when `nil`); same for `k`, `v`, `out`.
    ///   - k: `[batch, heads, keyLength, headDim]`.
    ///   - v: `[batch, heads, keyLength, valueDim]` (`valueDim` defaults to `headDim`).
    ///   - out: `[batch, heads, queryLength, valueDim]`; overwritten.
    ///   - mask: an additive mask, or `nil`.
    ///   - scale: defaults to `1/√headDim`.
    /// - Throws: ``KernelError`` from the softmax kernel.
    public func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDim: Int, valueDim: Int? = nil,
        qLayout: AttentionLayout? = nil, kLayout: AttentionLayout? = nil, vLayout: AttentionLayout? = nil,
        outLayout: AttentionLayout? = nil, mask: AttentionMask? = nil, scale: Float? = nil, scoreBudget: Int = 1 << 22
    ) throws {
        try attention(q: UnsafeRawPointer(q), k: UnsafeRawPointer(k), v: UnsafeRawPointer(v), out: out, batch: batch,
                      heads: heads, queryLength: queryLength, keyLength: keyLength, headDim: headDim, valueDim: valueDim,
                      qLayout: qLayout, kLayout: kLayout, vLayout: vLayout, outLayout: outLayout, mask: mask,
                      scale: scale, scoreBudget: scoreBudget, bfloat16: false)
    }

    /// ``attention(q:k:v:out:batch:heads:queryLength:keyLength:headDim:valueDim:qLayout:kLayout:vLayout:outLayout:mask:scale:scoreBudget:)``
    /// on bfloat16 queries, keys and values (raw 16-bit patterns, same layouts): both products run as bfloat16 GEMMs
    /// accumulating in float32, the scores and softmax stay float32, and the probabilities are rounded to bfloat16
    /// for the second product, as PyTorch computes attention for a bfloat16 model. The output is float32.
    public func attentionBFloat16(
        q: UnsafeRawPointer, k: UnsafeRawPointer, v: UnsafeRawPointer, out: UnsafeMutablePointer<Float>,
        batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDim: Int, valueDim: Int? = nil,
        qLayout: AttentionLayout? = nil, kLayout: AttentionLayout? = nil, vLayout: AttentionLayout? = nil,
        outLayout: AttentionLayout? = nil, mask: AttentionMask? = nil, scale: Float? = nil, scoreBudget: Int = 1 << 22
    ) throws {
        try attention(q: q, k: k, v: v, out: out, batch: batch, heads: heads, queryLength: queryLength,
                      keyLength: keyLength, headDim: headDim, valueDim: valueDim, qLayout: qLayout, kLayout: kLayout,
                      vLayout: vLayout, outLayout: outLayout, mask: mask, scale: scale, scoreBudget: scoreBudget,
                      bfloat16: true)
    }

    private func attention(
        q: UnsafeRawPointer, k: UnsafeRawPointer, v: UnsafeRawPointer, out: UnsafeMutablePointer<Float>,
        batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDim: Int, valueDim: Int?,
        qLayout: AttentionLayout?, kLayout: AttentionLayout?, vLayout: AttentionLayout?,
        outLayout: AttentionLayout?, mask: AttentionMask?, scale: Float?, scoreBudget: Int, bfloat16: Bool
    ) throws {
        let dv = valueDim ?? headDim
        guard batch > 0, heads > 0, queryLength > 0, keyLength > 0 else { return }
        let ql = qLayout ?? .contiguous(heads: heads, length: queryLength, dim: headDim)
        let kl = kLayout ?? .contiguous(heads: heads, length: keyLength, dim: headDim)
        let vl = vLayout ?? .contiguous(heads: heads, length: keyLength, dim: dv)
        let ol = outLayout ?? .contiguous(heads: heads, length: queryLength, dim: dv)
        let alpha = scale ?? 1 / Float(headDim).squareRoot()
        let element = bfloat16 ? 2 : 4
        let chunk = max(1, min(queryLength, scoreBudget / (heads * keyLength)))
        let scoreCount = heads * chunk * keyLength
        let cache = StorageBlockCache.shared
        let scoreBytes = scoreCount * MemoryLayout<Float>.stride
        let scores = cache.allocate(byteCount: scoreBytes).bindMemory(to: Float.self, capacity: scoreCount)
        defer { cache.deallocate(UnsafeMutableRawPointer(scores), byteCount: scoreBytes) }
        // bfloat16: the probabilities rounded for the second product.
        let probabilityBytes = bfloat16 ? scoreCount * 2 : 0
        let probabilities = bfloat16 ? cache.allocate(byteCount: probabilityBytes) : nil
        defer { if let probabilities { cache.deallocate(probabilities, byteCount: probabilityBytes) } }
        func product(m: Int, n: Int, k: Int, alpha: Float = 1, transB: Bool, a: UnsafeRawPointer, lda: Int,
                     b: UnsafeRawPointer, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                     strideA: Int, strideB: Int, strideC: Int) throws {
            if bfloat16 {
                try gemmBFloat16(transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c,
                                 ldc: ldc, batch: heads, strideA: strideA, strideB: strideB, strideC: strideC)
            } else {
                sgemm(transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.assumingMemoryBound(to: Float.self), lda: lda,
                      b: b.assumingMemoryBound(to: Float.self), ldb: ldb, c: c, ldc: ldc, batch: heads,
                      strideA: strideA, strideB: strideB, strideC: strideC)
            }
        }
        for b in 0..<batch {
            var start = 0
            while start < queryLength {
                let rows = min(chunk, queryLength - start)
                let headScores = rows * keyLength
                try product(m: rows, n: keyLength, k: headDim, alpha: alpha, transB: true,
                            a: q + (b * ql.batchStride + start * ql.rowStride) * element, lda: ql.rowStride,
                            b: k + b * kl.batchStride * element, ldb: kl.rowStride, c: scores, ldc: keyLength,
                            strideA: ql.headStride, strideB: kl.headStride, strideC: headScores)
                if let mask {
                    parallelFor(heads * rows, grain: max(1, 16384 / keyLength)) { range in
                        for item in range {
                            let h = item / rows, i = item % rows
                            let row = scores + h * headScores + i * keyLength
                            let m = mask.values + b * mask.batchStride + h * mask.headStride + (start + i) * mask.rowStride
                            Self.binaryRow(.add, row, 1, m, 1, row, keyLength)
                        }
                    }
                }
                var weights = UnsafeRawPointer(scores)
                if let probabilities {
                    try softmaxToBFloat16(x: scores, y: probabilities, rows: heads * rows, dim: keyLength)
                    weights = UnsafeRawPointer(probabilities)
                } else {
                    try softmax(x: scores, y: scores, rows: heads * rows, dim: keyLength)
                }
                try product(m: rows, n: dv, k: keyLength, transB: false, a: weights, lda: keyLength,
                            b: v + b * vl.batchStride * element, ldb: vl.rowStride,
                            c: out + b * ol.batchStride + start * ol.rowStride, ldc: ol.rowStride,
                            strideA: headScores, strideB: vl.headStride, strideC: ol.headStride)
                start += rows
            }
        }
    }
}

extension KernelReference {
    /// Naive scaled dot-product attention on contiguous `[batch, heads, length, dim]` buffers.
    ///
    /// - Parameter mask: additive `[batch, heads, queries, keys]` values with the given strides, or `nil`.
    public static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDim: Int, valueDim: Int,
        mask: AttentionMask?, scale: Float
    ) {
        var logits = [Double](repeating: 0, count: keyLength)
        for b in 0..<batch {
            for h in 0..<heads {
                let bh = b * heads + h
                for i in 0..<queryLength {
                    for j in 0..<keyLength {
                        var dot = 0.0
                        for d in 0..<headDim {
                            dot += Double(q[(bh * queryLength + i) * headDim + d]) * Double(k[(bh * keyLength + j) * headDim + d])
                        }
                        logits[j] = dot * Double(scale)
                        if let mask {
                            logits[j] += Double(mask.values[b * mask.batchStride + h * mask.headStride + i * mask.rowStride + j])
                        }
                    }
                    let m = logits.max()!
                    let weights = logits.map { exp($0 - m) }
                    let total = weights.reduce(0, +)
                    for d in 0..<valueDim {
                        var sum = 0.0
                        for j in 0..<keyLength { sum += weights[j] * Double(v[(bh * keyLength + j) * valueDim + d]) }
                        out[(bh * queryLength + i) * valueDim + d] = Float(sum / total)
                    }
                }
            }
        }
    }
}
