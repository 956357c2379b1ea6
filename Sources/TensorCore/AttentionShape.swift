/// The sizes of one scaled dot-product attention call, checked once for every backend:
/// `query[..., Lq, D]`, `key[..., Lk, D]`, `value[..., Lk, Dv]` with equal leading dimensions.
public struct AttentionShape: Sendable, Equatable {
    /// The leading (batch, head, …) dimensions.
    public let lead: [Int]
    public let queryLength: Int
    public let keyLength: Int
    public let headDim: Int
    public let valueDim: Int

    /// Reads and checks the shapes; a mismatch is a programming error (see ``Backend``).
    public init(query: Tensor, key: Tensor, value: Tensor) {
        let rank = query.rank
        precondition(rank >= 2 && key.rank == rank && value.rank == rank,
                     "attention: query \(query.shape), key \(key.shape), value \(value.shape)")
        lead = Array(query.shape.dropLast(2))
        queryLength = query.shape[rank - 2]
        headDim = query.shape[rank - 1]
        keyLength = key.shape[rank - 2]
        valueDim = value.shape[rank - 1]
        precondition(Array(key.shape.dropLast(2)) == lead && Array(value.shape.dropLast(2)) == lead
                     && key.shape[rank - 1] == headDim && value.shape[rank - 2] == keyLength,
                     "attention: query \(query.shape), key \(key.shape), value \(value.shape)")
    }

    /// `[..., Lq, Dv]`
    public var outputShape: [Int] { lead + [queryLength, valueDim] }
    /// `[..., Lq, Lk]`
    public var scoresShape: [Int] { lead + [queryLength, keyLength] }
}
