/// Where ``CLIPTokenizer`` looks up the textual-inversion embeddings that `embedding:NAME` names.
///
/// The tokenizer only needs to know whether `NAME` exists and how many vectors it has; the vectors
/// themselves are loaded by the text encoder's caller, using the returned key. ComfyUI passes its
/// `models/embeddings` folders here (``EmbeddingDirectories`` does the same); tests pass a table.
public protocol EmbeddingProvider: Sendable {
    /// Looks up `name` as written after `embedding:` (commas already stripped on the retry).
    /// - Returns: ``EmbeddingLookup/found(vectorCount:key:)`` or ``EmbeddingLookup/missing``.
    func embedding(named name: String) -> EmbeddingLookup
}

/// The result of an ``EmbeddingProvider`` lookup.
public enum EmbeddingLookup: Sendable, Hashable {
    /// The embedding exists and has `vectorCount` vectors (rows); `key` identifies it to whoever
    /// loads the vectors (for ``EmbeddingDirectories``, the file's path).
    case found(vectorCount: Int, key: String)
    /// No such embedding; ComfyUI drops the word (and logs a warning).
    case missing
}
