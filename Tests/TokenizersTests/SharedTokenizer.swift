import Tokenizers

/// One tokenizer per test process (loading the vocabulary takes a moment).
enum SharedTokenizer {
    static let server = Result { try CLIPTokenizer() }
    static let plainText = Result { try CLIPTokenizer(embeddingSyntax: .plainText) }
}
