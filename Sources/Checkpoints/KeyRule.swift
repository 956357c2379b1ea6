/// A key rename applied to a checkpoint before it is matched with a model: a prefix replaced by another.
///
/// Remaps are data — a list of these per model family — rather than code paths.
public struct KeyRule: Sendable, Equatable, Codable {
    public var from: String
    public var to: String
    /// Keys that already start with this prefix are left alone (so the rule is idempotent).
    public var unlessPrefix: String?

    public init(from: String, to: String, unlessPrefix: String? = nil) {
        self.from = from
        self.to = to
        self.unlessPrefix = unlessPrefix
    }

    /// The renamed key, or nil when the rule does not apply.
    public func apply(_ key: String) -> String? {
        guard key.hasPrefix(from) else { return nil }
        if let unlessPrefix, key.hasPrefix(unlessPrefix) { return nil }
        return to + key.dropFirst(from.count)
    }

    /// `key` after the first applicable rule of `rules`, or `key` itself.
    public static func apply(_ rules: [KeyRule], to key: String) -> String {
        for rule in rules { if let renamed = rule.apply(key) { return renamed } }
        return key
    }
}

extension StateDictShapes {
    /// The same shapes with every key passed through `rules`; the original key of each renamed one is in `renamedFrom`.
    public func remapped(_ rules: [KeyRule]) -> (shapes: StateDictShapes, renamedFrom: [String: String]) {
        guard !rules.isEmpty else { return (self, [:]) }
        var result: [String: [Int]] = [:], renamed: [String: String] = [:]
        for (key, shape) in shapes {
            let target = KeyRule.apply(rules, to: key)
            if target != key { renamed[target] = key }
            result[target] = shape
        }
        return (StateDictShapes(result, source: source), renamed)
    }
}
