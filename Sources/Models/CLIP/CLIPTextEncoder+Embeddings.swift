import TensorCore

extension CLIPTextEncoder {
    /// Checks that every embedding slot of `windows` has its vector in `embeddings`, of the
    /// encoder's width, so that ``encode(_:layer:embeddings:backend:)`` cannot fail on them.
    ///
    /// - Throws: ``TextualInversionError`` `.missingEmbedding` for an absent key or row,
    ///   `.wrongWidth` for vectors that are not `hidden` wide.
    public func checkEmbeddings<Token: WeightedToken>(_ windows: [[Token]],
                                                      embeddings: [String: Tensor]) throws(TextualInversionError) {
        _ = try embeddingReplacements(windows, embeddings: embeddings)
    }

    /// The token-embedding rows to replace: one per embedding slot, with its float32 vector.
    func embeddingReplacements<Token: WeightedToken>(_ windows: [[Token]], embeddings: [String: Tensor])
        throws(TextualInversionError) -> [CLIPEmbeddings.Replacement] {
        let width = configuration.transformer.hiddenSize
        var rowsByKey = [String: [Float]]()
        var result = [CLIPEmbeddings.Replacement]()
        for (sequence, window) in windows.enumerated() {
            for (position, token) in window.enumerated() {
                guard let (key, index) = token.embeddingRow else { continue }
                guard let table = embeddings[key] else {
                    throw TextualInversionError(.missingEmbedding, "tokens use embedding '\(key)', which was not loaded", path: key)
                }
                guard table.rank == 2, table.shape[1] == width else {
                    throw TextualInversionError(
                        .wrongWidth, "embedding of shape \(table.shape); the text encoder needs [n, \(width)]", path: key)
                }
                guard (0..<table.shape[0]).contains(index) else {
                    throw TextualInversionError(
                        .missingEmbedding, "tokens use vector \(index) of an embedding with \(table.shape[0])", path: key)
                }
                let values: [Float]
                if let cached = rowsByKey[key] {
                    values = cached
                } else {
                    values = table.scalars
                    rowsByKey[key] = values
                }
                result.append(CLIPEmbeddings.Replacement(sequence: sequence, position: position,
                                                        values: Array(values[(index * width)..<((index + 1) * width)])))
            }
        }
        return result
    }
}
