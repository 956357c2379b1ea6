/// ComfyUI's prompt emphasis syntax: splits a prompt into text segments with weights.
///
/// * `(text)` multiplies the weight of `text` by 1.1; nesting multiplies again (`((x))` → 1.1·1.1).
/// * `(text:1.3)` sets the weight to 1.3 when what follows the last `:` parses as a Python
///   `float`; otherwise the colon and number stay text and the group counts as `(text)`.
/// * `\(` and `\)` are literal parentheses.
/// * Unbalanced parentheses are kept as text; square brackets have no meaning.
///
/// Works on Unicode scalars so that indices behave like Python string indices.
enum PromptWeightParser {
    /// A run of prompt text with one weight, escapes already resolved.
    struct Segment: Equatable {
        var text: String
        var weight: Double
    }

    /// Stand-ins for escaped parentheses while the structure is parsed: NUL followed by U+0001
    /// or U+0002, the codes ComfyUI uses (a prompt containing them would be misread there too).
    private static let escapedClose: [Unicode.Scalar] = ["\u{0}", "\u{1}"]
    private static let escapedOpen: [Unicode.Scalar] = ["\u{0}", "\u{2}"]

    /// The weighted segments of `prompt`, in order.
    static func segments(of prompt: String) -> [Segment] {
        var scalars = Array(prompt.unicodeScalars)
        scalars = replace(scalars, ["\\", ")"], with: escapedClose)
        scalars = replace(scalars, ["\\", "("], with: escapedOpen)
        return tokenWeights(scalars, weight: 1.0).map { text, weight in
            var t = replace(text, escapedClose, with: [")"])
            t = replace(t, escapedOpen, with: ["("])
            return Segment(text: String(String.UnicodeScalarView(t)), weight: weight)
        }
    }

    /// Recursive weighting of the top-level groups of `text`.
    private static func tokenWeights(_ text: [Unicode.Scalar], weight current: Double) -> [([Unicode.Scalar], Double)] {
        var out = [([Unicode.Scalar], Double)]()
        for item in topLevelGroups(text) {
            guard item.count >= 2, item.first == "(", item.last == ")" else {
                out.append((item, current))
                continue
            }
            var inner = Array(item[1..<(item.count - 1)])
            var weight = current * 1.1
            if let colon = inner.lastIndex(of: ":"), colon > 0,
                let explicit = PythonFloat.parse(inner[(colon + 1)...])
            {
                weight = explicit
                inner = Array(inner[..<colon])
            }
            out += tokenWeights(inner, weight: weight)
        }
        return out
    }

    /// Splits `text` into plain runs and outermost `( … )` groups.
    ///
    /// A `)` with no open group drives the depth negative and is kept as text, as is everything
    /// up to the point where the depth returns to zero.
    private static func topLevelGroups(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var result = [[Unicode.Scalar]]()
        var current = [Unicode.Scalar]()
        var depth = 0
        for scalar in text {
            switch scalar {
            case "(":
                if depth == 0 {
                    if !current.isEmpty { result.append(current) }
                    current = ["("]
                } else {
                    current.append(scalar)
                }
                depth += 1
            case ")":
                depth -= 1
                if depth == 0 {
                    current.append(")")
                    result.append(current)
                    current = []
                } else {
                    current.append(scalar)
                }
            default:
                current.append(scalar)
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// Replaces every non-overlapping occurrence of `pattern`, left to right.
    static func replace(_ text: [Unicode.Scalar], _ pattern: [Unicode.Scalar], with replacement: [Unicode.Scalar])
        -> [Unicode.Scalar]
    {
        var out = [Unicode.Scalar]()
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i...].starts(with: pattern) {
                out += replacement
                i += pattern.count
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}
