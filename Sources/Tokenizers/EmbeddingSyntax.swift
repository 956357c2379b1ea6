/// How ``CLIPTokenizer`` treats ComfyUI's `embedding:NAME` words (textual-inversion embeddings).
public enum EmbeddingSyntax: Sendable, Hashable {
    /// `embedding:NAME` is recognised and looked up; Loom loads no embedding files yet, so every
    /// lookup misses and the word is dropped, keeping only stray text after it (commas, words
    /// that followed in the same segment). This is what the ComfyUI server does, because
    /// `CheckpointLoaderSimple` passes its embeddings folders, for a name with no file.
    case dropMissing
    /// `embedding:NAME` is ordinary text, as in ComfyUI with `embedding_directory=None`.
    case plainText
}
