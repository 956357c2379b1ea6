import Checkpoints
import TensorCore
import TensorNN

/// CLIP's input embeddings: a token table plus a learned absolute position table.
struct CLIPEmbeddings: Module {
    let token: Embedding
    let position: Embedding

    /// Reads `token_embedding.weight` and `position_embedding.weight`.
    init(_ scope: ParameterScope, configuration c: CLIPTextConfiguration) {
        token = Embedding(scope("token_embedding"), count: c.vocabularySize, dimension: c.hiddenSize)
        position = Embedding(scope("position_embedding"), count: c.maxPositionEmbeddings, dimension: c.hiddenSize)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("token_embedding", token)
        table.add("position_embedding", position)
        return table.table
    }

    /// A token slot whose token-embedding row is replaced (a textual-inversion vector).
    struct Replacement {
        var sequence: Int
        var position: Int
        /// `hidden` float32 values.
        var values: [Float]
    }

    /// int64 `ids[B, L]` → `[B, L, hidden]`: token rows plus the first `L` position rows.
    ///
    /// - Parameter replacements: slots whose token row is `values` instead of the id's row (ComfyUI's
    ///   `process_tokens` splices embedding vectors in before the position embedding is added).
    func callAsFunction(_ ids: Tensor, replacing replacements: [Replacement] = [], backend: some Backend) -> Tensor {
        let length = ids.shape[1]
        precondition(length <= position.count, "CLIP: \(length) tokens, at most \(position.count) positions")
        var tokens = token(ids, backend: backend)
        if !replacements.isEmpty {
            let width = token.dimension
            tokens.withMutableFloats { rows in
                for r in replacements {
                    precondition(r.values.count == width && r.position < length && r.sequence < ids.shape[0],
                                 "CLIP: bad embedding replacement at \(r.sequence), \(r.position)")
                    let start = (r.sequence * length + r.position) * width
                    for c in 0..<width { rows[start + c] = r.values[c] }
                }
            }
        }
        return backend.add(tokens, position.weight.narrowed(dim: 0, start: 0, length: length))
    }
}
