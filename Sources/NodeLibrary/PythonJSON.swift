import Workflow

/// JSON text as Python's `json.dumps` writes it by default: `", "` and `": "` separators and
/// `ensure_ascii` (every non-ASCII character as a `\uXXXX` escape, UTF-16 surrogate pairs above U+FFFF).
/// Used for PNG text chunks, which ComfyUI fills with `json.dumps(...)`.
public enum PythonJSON {
    /// Serialises `value` like `json.dumps(value)`.
    public static func dumps(_ value: JSONValue) -> String {
        let text = value.jsonString()
        guard text.utf8.contains(where: { $0 >= 0x80 }) else { return text }
        // Non-ASCII bytes only occur inside string literals, so escaping them everywhere is safe.
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                out.unicodeScalars.append(scalar)
            } else {
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        return out
    }
}
