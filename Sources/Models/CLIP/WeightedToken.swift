/// One slot of a CLIP input window: a vocabulary id and the prompt weight that applies to it.
///
/// Tokenizers' `TokenWeight` has these properties; a module that imports both Tokenizers and
/// Models can declare `extension TokenWeight: WeightedToken {}` and pass the
/// tokenizer's windows straight to ``CLIPTextEncoder/encode(_:layer:embeddings:backend:)``.
public protocol WeightedToken {
    var id: Int { get }
    var weight: Double { get }
    /// The textual-inversion vector this slot takes instead of the token-embedding row of ``id``:
    /// a key into the encoder's `embeddings` and a row of that tensor. `nil` (the default) for text.
    var embeddingRow: (key: String, index: Int)? { get }
}

extension WeightedToken {
    public var embeddingRow: (key: String, index: Int)? { nil }
}

/// A plain ``WeightedToken``.
public struct CLIPToken: WeightedToken, Sendable, Hashable, Codable {
    public var id: Int
    public var weight: Double

    public init(id: Int, weight: Double = 1) {
        self.id = id
        self.weight = weight
    }
}
