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

    /// int64 `ids[B, L]` → `[B, L, hidden]`: token rows plus the first `L` position rows.
    func callAsFunction(_ ids: Tensor, backend: some Backend) -> Tensor {
        let length = ids.shape[1]
        precondition(length <= position.count, "CLIP: \(length) tokens, at most \(position.count) positions")
        let tokens = token(ids, backend: backend)
        return backend.add(tokens, position.weight.narrowed(dim: 0, start: 0, length: length))
    }
}
