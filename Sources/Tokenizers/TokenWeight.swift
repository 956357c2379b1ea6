/// One slot of a CLIP input window: a token id with the prompt weight that applies to it.
///
/// This is ComfyUI's `(token, weight, word_id)` triple from `tokenize_with_weights(...,
/// return_word_ids=True)`. The text encoder reads ``id`` and ``weight``; ``wordIndex`` says which
/// weighted text group the token came from (1-based, 0 for start, end and padding). A slot that
/// ComfyUI fills with an embedding tensor has ``embedding`` set and ``id`` equal to
/// ``embeddingPlaceholderID``.
public struct TokenWeight: Sendable, Hashable {
    /// The ``id`` of a slot that takes an embedding vector instead of a vocabulary row.
    public static let embeddingPlaceholderID = 0

    /// Vocabulary id (0..<49408 for CLIP-L).
    public var id: Int
    /// Emphasis weight: 1.0 unless the prompt said otherwise, e.g. 1.1 for `(text)`.
    public var weight: Double
    /// 1-based index of the token group the id belongs to; 0 for start, end and padding tokens.
    public var wordIndex: Int
    /// The textual-inversion vector this slot takes, if it came from `embedding:NAME`.
    public var embedding: EmbeddingReference?

    public init(id: Int, weight: Double, wordIndex: Int = 0, embedding: EmbeddingReference? = nil) {
        self.id = id
        self.weight = weight
        self.wordIndex = wordIndex
        self.embedding = embedding
    }

    /// ``embedding`` as a plain tuple: the form the text encoder's `WeightedToken` reads, so that
    /// `extension TokenWeight: WeightedToken {}` passes embeddings through without further code.
    public var embeddingRow: (key: String, index: Int)? {
        embedding.map { (key: $0.key, index: $0.index) }
    }
}
