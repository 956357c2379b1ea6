/// How ``CLIPTokenizer`` treats ComfyUI's `embedding:NAME` words (textual-inversion embeddings).
public enum EmbeddingSyntax: Sendable, Hashable {
    /// `embedding:NAME` is recognised and looked up in the tokenizer's ``EmbeddingProvider``; a
    /// found embedding becomes its vectors, a missing one (every one, without a provider) is
    /// dropped, keeping only stray text after it (commas, words that followed in the same segment).
    /// This is what the ComfyUI server does, because `CheckpointLoaderSimple` passes its embeddings
    /// folders.
    case dropMissing
    /// `embedding:NAME` is ordinary text, as in ComfyUI with `embedding_directory=None`.
    case plainText
}
