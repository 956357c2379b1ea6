/// A token slot filled by one vector of a textual-inversion embedding instead of a vocabulary row.
public struct EmbeddingReference: Sendable, Hashable, Codable {
    /// The embedding's key, as its ``EmbeddingProvider`` returned it (e.g. the file path).
    public var key: String
    /// The 0-based row of the embedding's `[vectors, width]` tensor this slot takes.
    public var index: Int

    public init(key: String, index: Int) {
        self.key = key
        self.index = index
    }
}
