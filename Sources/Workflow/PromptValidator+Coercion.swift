/// Python-compatible coercion, comparison and repr used by validation, so error texts and coerced
/// values match ComfyUI's.
extension ValidationState {
    static func trimmed(_ s: Substring) -> String {
        var slice = s
        while let f = slice.first, f == " " || f == "\t" || f == "\n" || f == "\r" { slice.removeFirst() }
        while let l = slice.last, l == " " || l == "\t" || l == "\n" || l == "\r" { slice.removeLast() }
        return String(slice)
    }

    /// Coerces a constant to an input's declared type as ComfyUI does (`int()`, `float()`, `str()`,
    /// `bool()`); `nil` when Python would raise.
    static func coerce(_ value: JSONValue, to kind: InputSpec.Kind) -> JSONValue? {
        switch kind {
        case .int: return coerceInt(value)
        case .float: return coerceFloat(value)
        case .string: return .string(pythonString(value))
        case .boolean: return .bool(truthy(value))
        case .combo, .socket: return value
        }
    }

    static func coerceInt(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .int, .uint: return value
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d):
            guard d.isFinite else { return nil }
            let t = d.rounded(.towardZero)
            if let i = Int64(exactly: t) { return .int(i) }
            if let u = UInt64(exactly: t) { return .uint(u) }
            return .double(t)
        case .string(let s):
            var text = trimmed(Substring(s)).replacingUnderscores()
            var negative = false
            if text.hasPrefix("+") { text.removeFirst() } else if text.hasPrefix("-") { negative = true; text.removeFirst() }
            guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            if negative { return Int64("-" + text).map { .int($0) } }
            if let i = Int64(text) { return .int(i) }
            return UInt64(text).map { .uint($0) }
        default: return nil
        }
    }

    static func coerceFloat(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .int(let i): return .double(Double(i))
        case .uint(let u): return .double(Double(u))
        case .double: return value
        case .bool(let b): return .double(b ? 1 : 0)
        case .string(let s):
            let text = trimmed(Substring(s)).lowercased()
            switch text {
            case "nan", "+nan", "-nan": return .double(.nan)
            case "inf", "+inf", "infinity", "+infinity": return .double(.infinity)
            case "-inf", "-infinity": return .double(-.infinity)
            default:
                // Python's float() takes decimal literals only; Swift's Double() would also take hex ("0x1p3").
                guard !text.contains("x"), !text.hasPrefix("_"), !text.hasSuffix("_"), !text.contains("__") else { return nil }
                return Double(text.replacingUnderscores()).map { .double($0) }
            }
        default: return nil
        }
    }

    /// The message of the exception Python's `int()` / `float()` raises for `value`.
    static func conversionFailure(_ value: JSONValue, to kind: InputSpec.Kind) -> String {
        let isFloat: Bool
        if case .float = kind { isFloat = true } else { isFloat = false }
        switch value {
        case .string:
            return isFloat ? "could not convert string to float: \(pythonRepr(value))"
                           : "invalid literal for int() with base 10: \(pythonRepr(value))"
        case .double(let d) where d.isNaN: return "cannot convert float NaN to integer"
        case .double: return "cannot convert float infinity to integer"
        default:
            let typeName: String
            switch value {
            case .null: typeName = "NoneType"
            case .array: typeName = "list"
            case .object: typeName = "dict"
            default: typeName = "object"
            }
            return isFloat ? "float() argument must be a string or a real number, not '\(typeName)'"
                           : "int() argument must be a string, a bytes-like object or a real number, not '\(typeName)'"
        }
    }

    static func truthy(_ value: JSONValue) -> Bool { value.isTruthy }

    /// Python's `str()` of a JSON-decoded value.
    static func pythonString(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        return pythonRepr(value, quoted: true)
    }

    /// Python's `repr()` of a JSON-decoded value (`'a'`, `True`, `None`, `[1, 'b']`, `{'k': 1}`).
    static func pythonRepr(_ value: JSONValue, quoted: Bool = true) -> String {
        switch value {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .double(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d > 0 ? "inf" : "-inf" }
            return "\(d)"
        case .string(let s): return quoted ? "'\(s)'" : s
        case .array(let a): return "[" + a.map { pythonRepr($0) }.joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.map { "'\($0.key)': \(pythonRepr($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// Orders two JSON numbers; `nil` when either is not a number.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> ComparisonResult? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        case (.uint(let x), .uint(let y)): return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        case (.int, .uint): return .orderedAscending
        case (.uint, .int): return .orderedDescending
        default:
            guard let x = a.doubleValue, let y = b.doubleValue, !x.isNaN, !y.isNaN else { return nil }
            return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        }
    }

    /// Python `==` between decoded JSON values (numbers compare by value: `1 == 1.0`).
    static func looselyEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return compare(a, b) == .orderedSame || x == y }
        return a == b
    }
}

/// The three-way result of ``ValidationState/compare(_:_:)``.
enum ComparisonResult {
    case orderedAscending, orderedSame, orderedDescending
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
