/// ComfyUI's handling of `embedding:NAME` inside one weighted prompt segment.
///
/// A segment is cut before every ` embedding:` or `\nembedding:`; each piece is then either text
/// for the BPE tokenizer, or an embedding reference. A reference takes the first white-space
/// separated word after `embedding:` as the name; the rest of the piece (and commas trailing the
/// name) is tokenised as text. Since no embedding can be found here, only that leftover text
/// survives.
enum EmbeddingSplitter {
    static let identifier: [Unicode.Scalar] = Array("embedding:".unicodeScalars)

    /// The texts to tokenise, one token group each, for `segment`.
    static func texts(in segment: String, syntax: EmbeddingSyntax) -> [String] {
        var texts = [String]()
        for piece in pieces(Array(segment.unicodeScalars)) where !piece.isEmpty {
            guard syntax == .dropMissing, piece.starts(with: identifier) else {
                texts.append(string(piece))
                continue
            }
            let leftover = leftoverAfterMissingEmbedding(Array(piece.dropFirst(identifier.count)))
            if !leftover.isEmpty { texts.append(string(leftover)) }
        }
        return texts
    }

    /// Splits before each ` embedding:` / `\nembedding:`, dropping the separator character.
    private static func pieces(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
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

    /// What ComfyUI tokenises after `embedding:` when the named embedding does not exist.
    ///
    /// The name is the first white-space separated word; the other words are re-joined with single
    /// spaces. If the name has commas at either end, ComfyUI retries without them and puts the
    /// name's last characters (as many as were stripped) in front of the leftover. An empty name
    /// (ComfyUI fails with an `IndexError` there) yields nothing.
    private static func leftoverAfterMissingEmbedding(_ rest: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let name = trim(rest) { $0 == "\n" }
        let words = name.split(whereSeparator: PythonFloat.isPythonSpace)
        guard let first = words.first.map(Array.init) else { return [] }
        var leftover = Array(words.dropFirst().map(Array.init).joined(separator: [" "]))
        let stripped = trim(first) { $0 == "," }
        if stripped.count < first.count {
            leftover = Array(first[stripped.count...]) + [" "] + leftover
        }
        return leftover
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
