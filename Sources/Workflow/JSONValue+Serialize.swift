extension JSONValue {
    /// The value as UTF-8 JSON text.
    ///
    /// Integers are written as integer literals (so 2^64 − 1 survives), doubles with the shortest
    /// representation that round-trips (`8.0` stays `8.0`, as Python writes it), non-finite doubles as
    /// `NaN`/`Infinity` like Python's `json.dumps`. `pretty` indents by `indent` spaces.
    public func serialized(pretty: Bool = false, indent: Int = 2) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, pretty: pretty, indent: indent, level: 0)
        return out
    }

    /// The value as a JSON `String`.
    public func jsonString(pretty: Bool = false, indent: Int = 2) -> String {
        String(decoding: serialized(pretty: pretty, indent: indent), as: UTF8.self)
    }

    private func newline(_ out: inout [UInt8], pretty: Bool, indent: Int, level: Int) {
        guard pretty else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * level))
    }

    private func write(into out: inout [UInt8], pretty: Bool, indent: Int, level: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .uint(let u): out.append(contentsOf: String(u).utf8)
        case .double(let d): out.append(contentsOf: JSONValue.formatDouble(d).utf8)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")); if !pretty { out.append(0x20) } }
                newline(&out, pretty: pretty, indent: indent, level: level + 1)
                element.write(into: &out, pretty: pretty, indent: indent, level: level + 1)
            }
            if !a.isEmpty { newline(&out, pretty: pretty, indent: indent, level: level) }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in o {
                if !first { out.append(UInt8(ascii: ",")); if !pretty { out.append(0x20) } }
                first = false
                newline(&out, pretty: pretty, indent: indent, level: level + 1)
                JSONValue.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                out.append(0x20)
                value.write(into: &out, pretty: pretty, indent: indent, level: level + 1)
            }
            if !o.isEmpty { newline(&out, pretty: pretty, indent: indent, level: level) }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
        // Swift prints the shortest form that round-trips ("8.0", "0.1", "1e-07", "1e+16"): all valid JSON.
        return "\(d)"
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
