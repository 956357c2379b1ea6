/// Python's `float(str)` for the weight after the colon in `(text:1.3)`.
///
/// Accepts what CPython accepts: surrounding white space, an optional sign, decimal digits with an
/// optional fraction and exponent, `_` between digits, any Unicode decimal digit, and
/// `inf`/`infinity`/`nan` in any case. Everything else is `nil` (Python raises `ValueError`).
enum PythonFloat {
    static func parse(_ text: some Collection<Unicode.Scalar>) -> Double? {
        // Unicode decimal digits → ASCII, Python white space → ' ' (CPython does the same first).
        var chars = [Character]()
        for scalar in text {
            if isPythonSpace(scalar) {
                chars.append(" ")
            } else if scalar.properties.numericType == .decimal, let value = scalar.properties.numericValue {
                chars.append(Character(String(Int(value))))
            } else if scalar.isASCII {
                chars.append(Character(scalar))
            } else {
                return nil
            }
        }
        while chars.first == " " { chars.removeFirst() }
        while chars.last == " " { chars.removeLast() }
        guard !chars.isEmpty else { return nil }

        var sign = 1.0
        var body = chars[...]
        if let first = body.first, first == "+" || first == "-" {
            sign = first == "-" ? -1 : 1
            body = body.dropFirst()
        }
        switch String(body).lowercased() {
        case "inf", "infinity": return sign * Double.infinity
        case "nan": return Double.nan
        default: break
        }
        guard let cleaned = validatedDecimal(Array(body)) else { return nil }
        guard let magnitude = Double(cleaned) else { return nil }
        return sign * magnitude
    }

    /// `digits [. digits] [e [sign] digits]` or `. digits [...]`, with `_` only between two digits.
    /// Returns the literal without underscores, or `nil` when the grammar does not match.
    private static func validatedDecimal(_ chars: [Character]) -> String? {
        var i = 0
        var out = ""
        func digits() -> Bool {
            var count = 0
            while i < chars.count {
                let c = chars[i]
                if c.isASCII, c.isNumber {
                    out.append(c)
                    count += 1
                    i += 1
                } else if c == "_", count > 0, i + 1 < chars.count, chars[i + 1].isASCII, chars[i + 1].isNumber {
                    i += 1
                } else {
                    break
                }
            }
            return count > 0
        }
        let hasInteger = digits()
        var hasFraction = false
        if i < chars.count, chars[i] == "." {
            out.append(".")
            i += 1
            hasFraction = digits()
        }
        guard hasInteger || hasFraction else { return nil }
        if i < chars.count, chars[i] == "e" || chars[i] == "E" {
            out.append("e")
            i += 1
            if i < chars.count, chars[i] == "+" || chars[i] == "-" {
                out.append(chars[i])
                i += 1
            }
            guard digits() else { return nil }
        }
        return i == chars.count ? out : nil
    }

    /// `str.isspace()`: Unicode White_Space plus the ASCII separators U+001C…U+001F.
    static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
}
