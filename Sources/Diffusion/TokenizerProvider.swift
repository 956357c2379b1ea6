import Synchronization
import Tokenizers

/// The CLIP tokenizer, loaded once on first use (loading takes about 0.3 s) and shared.
public final class TokenizerProvider: Sendable {
    private let cell = Mutex<CLIPTokenizer?>(nil)
    private let embeddingSyntax: EmbeddingSyntax

    /// - Parameter embeddingSyntax: how `embedding:NAME` is treated (ComfyUI's server drops missing ones).
    public init(embeddingSyntax: EmbeddingSyntax = .dropMissing) {
        self.embeddingSyntax = embeddingSyntax
    }

    /// The shared tokenizer.
    /// - Throws: ``CLIPTokenizerError`` when the bundled vocabulary cannot be read.
    public func clip() throws -> CLIPTokenizer {
        try cell.withLock { cached in
            if let cached { return cached }
            let tokenizer = try CLIPTokenizer(embeddingSyntax: embeddingSyntax)
            cached = tokenizer
            return tokenizer
        }
    }
}
