/// One slot of a CLIP input window: a token id with the prompt weight that applies to it.
///
/// This is ComfyUI's `(token, weight, word_id)` triple from `tokenize_with_weights(...,
/// return_word_ids=True)`. The text encoder reads ``id`` and ``weight``; ``wordIndex`` says which
/// weighted text group the token came from (1-based, 0 for start, end and padding).
public struct TokenWeight: Sendable, Hashable {
    /// Vocabulary id (0..<49408 for CLIP-L).
    public var id: Int
    /// Emphasis weight: 1.0 unless the prompt said otherwise, e.g. 1.1 for `(text)`.
    public var weight: Double
    /// 1-based index of the token group the id belongs to; 0 for start, end and padding tokens.
    public var wordIndex: Int

    public init(id: Int, weight: Double, wordIndex: Int = 0) {
        self.id = id
        self.weight = weight
        self.wordIndex = wordIndex
    }
}
