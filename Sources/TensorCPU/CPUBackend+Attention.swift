import TensorCore

extension CPUBackend {
    /// Scaled dot-product attention on ``CPUEngine/attention(q:k:v:out:batch:heads:queryLength:keyLength:headDim:valueDim:qLayout:kLayout:vLayout:outLayout:mask:scale:scoreBudget:)``.
    ///
    /// Four-dimensional float32 views are read in place through their batch, head and row strides (a
    /// `[B, L, H, D]` projection permuted to `[B, H, L, D]` is not copied) as long as the last dimension is
    /// unit-strided; the mask is read through its broadcast strides. Ranks 2 and 3 gain leading unit dimensions;
    /// higher ranks fold their leading dimensions. Falls back to ``ReferenceBackend`` when a kernel fails.
    public func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, scale: Float?) -> Tensor {
        let shape = AttentionShape(query: query, key: key, value: value)
        let lead = shape.lead
        let lq = shape.queryLength, d = shape.headDim, lk = shape.keyLength, dv = shape.valueDim
        let outShape = lead + [lq, dv]
        guard lead.reduce(1, *) > 0, lq > 0, dv > 0 else { return Tensor(zeros: outShape) }
        if lk == 0 || d == 0 {
            return reference.attention(query: query, key: key, value: value, mask: mask, scale: scale)
        }

        // bfloat16 queries, keys and values (a bfloat16 model's projections) run the bfloat16 kernel.
        let bfloat16 = query.dtype == .bfloat16 && key.dtype == .bfloat16 && value.dtype == .bfloat16

        // Many short sequences (a video model's attention across frames: one sequence per pixel) are run as one
        // batch of `B·H` heads: per-sequence GEMM and softmax calls would cost more than their arithmetic.
        let foldsBatch = mask == nil && lead.count >= 2 && lead.dropLast().reduce(1, *) > 1
            && lq * lk <= Self.shortSequenceScores
        /// `t` as a `[B, H, L, D]` view (float32, or bfloat16 for the bfloat16 kernel) whose last dimension is
        /// unit-strided and whose row stride suits GEMM.
        func operand(_ t: Tensor) -> (Tensor, AttentionLayout) {
            var t = Self.fourDimensional(t)
            if !bfloat16 { t = Self.float32(t) }
            if foldsBatch, t.shape[0] > 1, t.strides[0] != t.shape[1] * t.strides[1] || t.strides[1] == 0 {
                // Folding needs one stride across batch and heads: gather head-major.
                t = headMajor(t)
            }
            if bfloat16, t.shape[1] > 1, t.shape[2] > 1, t.strides[1] < t.strides[2] {
                // Heads interleaved within each row (a `[B, L, H·D]` projection split into heads): oneDNN's bfloat16
                // brgemm takes only head-major batches (else it falls back to a GEMM at half the speed), so gather
                // each head's rows once.
                t = headMajor(t)
            }
            let length = t.shape[2], width = t.shape[3]
            if !(width == 1 || t.strides[3] == 1) || (length > 1 && t.strides[2] < width) { t = t.contiguous() }
            let rowStride = length == 1 ? max(t.strides[2], width) : t.strides[2]
            return (t, AttentionLayout(batchStride: t.strides[0], headStride: t.strides[1], rowStride: rowStride))
        }
        let (q, ql) = operand(query), (k, kl) = operand(key), (v, vl) = operand(value)
        var m: Tensor? = nil
        if let mask {
            var expanded = Self.float32(Self.fourDimensional(mask.expanded(to: lead + [lq, lk])))
            if !(lk == 1 || expanded.strides[3] == 1) { expanded = expanded.contiguous() }
            m = expanded
        }
        var (batch, heads) = (q.shape[0], q.shape[1])
        let out = Tensor(uninitialized: [batch, heads, lq, dv])
        if foldsBatch, [(q, ql), (k, kl), (v, vl)].allSatisfy({ $0.0.shape[0] == batch && $0.1.headStride > 0
                && $0.1.batchStride == heads * $0.1.headStride }) {
            heads *= batch
            batch = 1
        }
        let succeeded: Bool = withExtendedLifetime((q, k, v, m, out)) {
            let attentionMask = m.map {
                AttentionMask(values: Self.pointer($0), batchStride: $0.strides[0], headStride: $0.strides[1],
                              rowStride: $0.strides[2])
            }
            do {
                if bfloat16 {
                    try engine.attentionBFloat16(q: q.baseAddress, k: k.baseAddress, v: v.baseAddress,
                                                 out: Self.pointer(out), batch: batch, heads: heads, queryLength: lq,
                                                 keyLength: lk, headDim: d, valueDim: dv, qLayout: ql, kLayout: kl,
                                                 vLayout: vl, mask: attentionMask, scale: scale)
                } else {
                    try engine.attention(q: Self.pointer(q), k: Self.pointer(k), v: Self.pointer(v), out: Self.pointer(out),
                                         batch: batch, heads: heads, queryLength: lq, keyLength: lk, headDim: d,
                                         valueDim: dv, qLayout: ql, kLayout: kl, vLayout: vl, mask: attentionMask,
                                         scale: scale)
                }
                return true
            } catch {
                return false
            }
        }
        guard succeeded else {
            return reference.attention(query: query, key: key, value: value, mask: mask, scale: scale)
        }
        return out.reshaped(outShape)
    }

    /// A dense `[B, H, L, D]` copy of a view whose last dimension is unit-strided, row by row.
    func headMajor(_ t: Tensor) -> Tensor {
        guard t.strides[3] == 1 || t.shape[3] == 1 else { return t.contiguous() }
        let (b, h, l, d) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let size = t.dtype.byteSize
        let out = Tensor(uninitialized: t.shape, dtype: t.dtype)
        withExtendedLifetime((t, out)) {
            let source = t.baseAddress, target = out.baseAddress
            let strides = t.strides
            engine.parallelFor(b * h, grain: max(1, 4096 / max(1, l))) { range in
                for item in range {
                    let (n, head) = (item / h, item % h)
                    let from = source + (n * strides[0] + head * strides[1]) * size
                    let to = target + item * l * d * size
                    for row in 0..<l { (to + row * d * size).copyMemory(from: from + row * strides[2] * size, byteCount: d * size) }
                }
            }
        }
        return out
    }

    /// The most scores per sequence (`Lq · Lk`) for which many sequences run as one batch of heads.
    static let shortSequenceScores = 4096

    /// `[..., L, D]` as `[B, H, L, D]`: leading unit dimensions added, or the leading dimensions folded into one.
    static func fourDimensional(_ t: Tensor) -> Tensor {
        switch t.rank {
        case 2: return t.unsqueezed(0).unsqueezed(0)
        case 3: return t.unsqueezed(0)
        case 4: return t
        default: return t.reshaped([-1, t.shape[t.rank - 2], t.shape[t.rank - 1]]).unsqueezed(0)
        }
    }
}
