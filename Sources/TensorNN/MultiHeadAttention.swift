import TensorCore

/// Multi-head scaled dot-product attention (Vaswani et al., "Attention Is All You Need", 2017):
/// query/key/value projections, heads split by reshape and permute views, one backend attention
/// call, heads merged and projected out. Self-attention when no context is given, cross-attention
/// otherwise.
public struct MultiHeadAttention: Module {
    /// The checkpoint names of the four projections.
    public struct KeyNames: Sendable, Equatable, Codable {
        public var query, key, value, output: String

        public init(query: String, key: String, value: String, output: String) {
            self.query = query
            self.key = key
            self.value = value
            self.output = output
        }

        /// Hugging Face CLIP / BERT naming.
        public static let huggingFace = KeyNames(query: "q_proj", key: "k_proj", value: "v_proj", output: "out_proj")
        /// LDM / ComfyUI `CrossAttention` naming.
        public static let ldm = KeyNames(query: "to_q", key: "to_k", value: "to_v", output: "to_out.0")
    }

    public let heads: Int
    public let keyNames: KeyNames
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear

    public init(heads: Int, query: Linear, key: Linear, value: Linear, output: Linear, keyNames: KeyNames = .huggingFace) {
        precondition(heads >= 1 && query.outFeatures % heads == 0, "attention: \(query.outFeatures) not split into \(heads) heads")
        self.heads = heads
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.keyNames = keyNames
    }

    /// Reads the four projections from `scope`.
    ///
    /// - Parameters:
    ///   - dimension: query width (and output width).
    ///   - contextDimension: key/value input width (defaults to `dimension`, self-attention).
    ///   - innerDimension: projected width, `heads × headDim` (defaults to `dimension`).
    ///   - projectionBias: whether q/k/v projections have a bias (the output projection always has one).
    public init(_ scope: ParameterScope, dimension: Int, heads: Int, contextDimension: Int? = nil,
                innerDimension: Int? = nil, projectionBias: Bool = true, keyNames: KeyNames = .huggingFace) {
        let inner = innerDimension ?? dimension
        let context = contextDimension ?? dimension
        self.init(
            heads: heads,
            query: Linear(scope(keyNames.query), inFeatures: dimension, outFeatures: inner, bias: projectionBias),
            key: Linear(scope(keyNames.key), inFeatures: context, outFeatures: inner, bias: projectionBias),
            value: Linear(scope(keyNames.value), inFeatures: context, outFeatures: inner, bias: projectionBias),
            output: Linear(scope(keyNames.output), inFeatures: inner, outFeatures: dimension),
            keyNames: keyNames)
    }

    public var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add(keyNames.query, query)
        table.add(keyNames.key, key)
        table.add(keyNames.value, value)
        table.add(keyNames.output, output)
        return table.table
    }

    /// `x[B, L, dimension]` (and `context[B, Lc, contextDimension]`) → `[B, L, dimension]`.
    ///
    /// - Parameters:
    ///   - context: keys and values come from here; `x` itself when nil.
    ///   - mask: additive, broadcastable to `[B, heads, L, Lc]` (e.g. ``causalMask(length:)``).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, mask: Tensor? = nil, backend: some Backend) -> Tensor {
        let source = context ?? x
        // A bfloat16 model computes attention in bfloat16 too (float32 accumulation), as PyTorch does.
        let type: DType = query.weight.dtype == .bfloat16 ? .bfloat16 : .float32
        let q = splitHeads(query(x, backend: backend).converted(to: type))
        let k = splitHeads(key(source, backend: backend).converted(to: type))
        let v = splitHeads(value(source, backend: backend).converted(to: type))
        let attended = backend.attention(query: q, key: k, value: v, mask: mask, scale: nil)  // [B, H, L, D]
        let merged = backend.contiguous(attended.permuted([0, 2, 1, 3]))                     // [B, L, H, D]
        let shape = merged.shape
        return output(merged.reshaped([shape[0], shape[1], shape[2] * shape[3]]), backend: backend)
    }

    /// `[B, L, H·D]` → `[B, H, L, D]` as a view.
    private func splitHeads(_ t: Tensor) -> Tensor {
        let (b, l, width) = (t.shape[0], t.shape[1], t.shape[2])
        return t.reshaped([b, l, heads, width / heads]).permuted([0, 2, 1, 3])
    }

    /// The additive causal mask `[length, length]`: 0 on and below the diagonal, `-Float.greatestFiniteMagnitude`
    /// above it (PyTorch's `full(-finfo.max).triu_(1)`, as CLIP uses).
    public static func causalMask(length: Int) -> Tensor {
        var values = [Float](repeating: 0, count: length * length)
        for i in 0..<length {
            for j in (i + 1)..<max(i + 1, length) { values[i * length + j] = -Float.greatestFiniteMagnitude }
        }
        return Tensor(shape: [length, length], scalars: values)
    }
}
