import Foundation
import Models
import Synchronization
import Tokenizers

/// The CLIP tokenizer, loaded once on first use (loading takes about 0.3 s) and shared.
public final class TokenizerProvider: Sendable {
    private let cell = Mutex<CLIPTokenizer?>(nil)
    private let embeddingSyntax: EmbeddingSyntax
    private let embeddingDirectories: [String]

    /// - Parameters:
    ///   - embeddingSyntax: how `embedding:NAME` is treated (ComfyUI's server drops missing ones).
    ///   - embeddingDirectories: where textual-inversion files are looked up (`models/embeddings`).
    public init(embeddingSyntax: EmbeddingSyntax = .dropMissing, embeddingDirectories: [String] = []) {
        self.embeddingSyntax = embeddingSyntax
        self.embeddingDirectories = embeddingDirectories
    }

    /// The shared tokenizer.
    /// - Throws: ``CLIPTokenizerError`` when the bundled vocabulary cannot be read.
    public func clip() throws -> CLIPTokenizer {
        try cell.withLock { cached in
            if let cached { return cached }
            let provider = embeddingDirectories.isEmpty ? nil : EmbeddingDirectories(
                directories: embeddingDirectories.map { URL(fileURLWithPath: $0) },
                vectorCount: { try? TextualInversion.vectorCount(path: $0.path) })
            let tokenizer = try CLIPTokenizer(embeddingSyntax: embeddingSyntax, embeddings: provider)
            cached = tokenizer
            return tokenizer
        }
    }
}
