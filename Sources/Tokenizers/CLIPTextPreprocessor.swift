import Foundation

/// CLIP's text clean-up and pre-tokenisation, as the Hugging Face `CLIPTokenizer` (tokenizers
/// backend) does it before BPE.
///
/// 1. Normalise: Unicode NFC, every run of white space to one space, lowercase (per scalar, full
///    Unicode mapping).
/// 2. Split out the special tokens `<|startoftext|>` / `<|endoftext|>` (matched in the
///    normalised text).
/// 3. Pre-tokenise the rest with CLIP's pattern
///    `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`, dropping what does not match
///    (white space): contractions, letter runs, single digits, runs of other symbols.
enum CLIPTextPreprocessor {
    /// A piece of pre-tokenised text.
    enum Piece: Equatable {
        /// A word for BPE.
        case word(String)
        /// A special token written literally in the text.
        case special(String)
    }

    static let specialTokens = ["<|startoftext|>", "<|endoftext|>"]

    /// The pre-tokens of `text`, in order.
    static func pieces(of text: String) -> [Piece] {
        let normalized = normalize(text)
        var result = [Piece]()
        var pending = [Unicode.Scalar]()
        let scalars = Array(normalized.unicodeScalars)
        let specials = specialTokens.map { Array($0.unicodeScalars) }
        var i = 0
        scan: while i < scalars.count {
            if scalars[i] == "<" {
                for special in specials where scalars[i...].starts(with: special) {
                    splitWords(pending, into: &result)
                    pending.removeAll()
                    result.append(.special(String(String.UnicodeScalarView(special))))
                    i += special.count
                    continue scan
                }
            }
            pending.append(scalars[i])
            i += 1
        }
        splitWords(pending, into: &result)
        return result
    }

    /// NFC, white-space runs → one space, lowercase.
    static func normalize(_ text: String) -> String {
        let composed = text.precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var inSpace = false
        for scalar in composed.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            if scalar.properties.changesWhenLowercased {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    private enum Kind { case space, letter, number, other }

    private static func kind(_ scalar: Unicode.Scalar) -> Kind {
        if scalar.properties.isWhitespace { return .space }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Contraction suffixes the pattern tries first, after an apostrophe.
    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map {
        Array($0.unicodeScalars)
    }

    /// Appends the pattern matches of `scalars` (leftmost-first alternation, greedy runs).
    private static func splitWords(_ scalars: [Unicode.Scalar], into result: inout [Piece]) {
        var i = 0
        func emit(_ end: Int) {
            result.append(.word(String(String.UnicodeScalarView(scalars[i..<end]))))
            i = end
        }
        outer: while i < scalars.count {
            if scalars[i] == "'" {
                for suffix in contractions where scalars[(i + 1)...].starts(with: suffix) {
                    emit(i + 1 + suffix.count)
                    continue outer
                }
            }
            let k = kind(scalars[i])
            switch k {
            case .space:
                i += 1
            case .number:
                emit(i + 1)
            case .letter, .other:
                var end = i + 1
                while end < scalars.count, kind(scalars[end]) == k { end += 1 }
                emit(end)
            }
        }
    }
}
