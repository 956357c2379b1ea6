/// ComfyUI's handling of `embedding:NAME` inside one weighted prompt segment.
///
/// A segment is cut before every ` embedding:` or `\nembedding:`; each piece is then either text
/// for the BPE tokenizer, or an embedding reference. A reference takes the first white-space
/// separated word after `embedding:` as the name; the rest of the piece (and commas trailing the
/// name) is tokenised as text, as a group of its own after the embedding's vectors.
enum EmbeddingSplitter {
    static let identifier: [Unicode.Scalar] = Array("embedding:".unicodeScalars)

    /// One token group of a segment: text for the BPE tokenizer, or the vectors of an embedding.
    enum Piece: Sendable, Hashable {
        case text(String)
        case embedding(key: String, vectorCount: Int)
    }

    /// The token groups of `segment`, looking embeddings up with `lookup`.
    ///
    /// - Parameters:
    ///   - syntax: with ``EmbeddingSyntax/plainText`` `embedding:` is ordinary text and `lookup` is not called.
    ///   - lookup: finds an embedding by name (`nil`: none exists).
    ///   - missing: receives the name of each embedding that was not found (commas stripped).
    static func pieces(in segment: String, syntax: EmbeddingSyntax, lookup: ((String) -> EmbeddingLookup)?,
                       missing: inout [String]) -> [Piece] {
        var result = [Piece]()
        for piece in split(Array(segment.unicodeScalars)) where !piece.isEmpty {
            guard syntax == .dropMissing, piece.starts(with: identifier) else {
                result.append(.text(string(piece)))
                continue
            }
            let reference = resolve(Array(piece.dropFirst(identifier.count)), lookup: lookup)
            switch reference.lookup {
            case .found(let count, let key): result.append(.embedding(key: key, vectorCount: count))
            case .missing: if let name = reference.name { missing.append(name) }
            }
            if !reference.leftover.isEmpty { result.append(.text(string(reference.leftover))) }
        }
        return result
    }

    /// Splits before each ` embedding:` / `\nembedding:`, dropping the separator character.
    private static func split(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var result = [[Unicode.Scalar]]()
        var current = [Unicode.Scalar]()
        var i = 0
        while i < scalars.count {
            if scalars[i] == " " || scalars[i] == "\n", scalars[(i + 1)...].starts(with: identifier) {
                result.append(current)
                current = identifier
                i += 1 + identifier.count
            } else {
                current.append(scalars[i])
                i += 1
            }
        }
        result.append(current)
        return result
    }

    /// ComfyUI's `_try_get_embedding` on what follows `embedding:`.
    ///
    /// The name is the first white-space separated word; the other words are re-joined with single
    /// spaces as leftover text. If the name is not found and has commas at either end, ComfyUI
    /// retries without them and puts the name's last characters (as many as were stripped) in front
    /// of the leftover. An empty name (ComfyUI fails with an `IndexError` there) yields nothing.
    private static func resolve(_ rest: [Unicode.Scalar], lookup: ((String) -> EmbeddingLookup)?)
        -> (name: String?, lookup: EmbeddingLookup, leftover: [Unicode.Scalar]) {
        let text = trim(rest) { $0 == "\n" }
        let words = text.split(whereSeparator: PythonFloat.isPythonSpace)
        guard let first = words.first.map(Array.init) else { return (nil, .missing, []) }
        var leftover = Array(words.dropFirst().map(Array.init).joined(separator: [" "]))
        let found = find(first, lookup)
        if case .found = found { return (string(first), found, leftover) }
        let stripped = trim(first) { $0 == "," }
        guard stripped.count < first.count else { return (string(first), .missing, leftover) }
        leftover = Array(first[stripped.count...]) + [" "] + leftover
        return (string(stripped.isEmpty ? first : stripped), find(stripped, lookup), leftover)
    }

    private static func find(_ name: [Unicode.Scalar], _ lookup: ((String) -> EmbeddingLookup)?) -> EmbeddingLookup {
        guard let lookup, !name.isEmpty else { return .missing }
        return lookup(string(name))
    }

    private static func trim(_ scalars: [Unicode.Scalar], where drop: (Unicode.Scalar) -> Bool) -> [Unicode.Scalar] {
        guard let start = scalars.firstIndex(where: { !drop($0) }),
            let end = scalars.lastIndex(where: { !drop($0) })
        else { return [] }
        return Array(scalars[start...end])
    }

    private static func string(_ scalars: [Unicode.Scalar]) -> String {
        String(String.UnicodeScalarView(scalars))
    }
}
