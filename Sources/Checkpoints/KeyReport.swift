/// How a checkpoint's keys compare with the keys a model expects.
///
/// Loaders build one per component and surface it; nothing is dropped silently: every key of the file
/// is either expected, listed as `unexpected`, or listed as `ignored` by a named rule.
public struct KeyReport: Sendable, Equatable, Codable {
    /// An expected key present with another shape.
    public struct ShapeMismatch: Sendable, Equatable, Codable {
        public var key: String
        public var expected: [Int]
        public var found: [Int]
    }

    /// Expected keys the file lacks, sorted.
    public var missing: [String]
    /// File keys the model does not expect, sorted.
    public var unexpected: [String]
    /// Expected keys whose shapes differ, sorted by key.
    public var shapeMismatches: [ShapeMismatch]
    /// File keys known to be unused (e.g. LDM schedule buffers), sorted.
    public var ignored: [String]

    /// Compares `found` with `expected`.
    ///
    /// - Parameters:
    ///   - expected: key → shape the model needs.
    ///   - found: key → shape the file has (already restricted to the component, if reporting one).
    ///   - ignoring: keys of `found` that are not expected but known to be harmless.
    public init(expected: [String: [Int]], found: [String: [Int]], ignoring: (String) -> Bool = { _ in false }) {
        missing = expected.keys.filter { found[$0] == nil }.sorted()
        var unexpected: [String] = [], ignored: [String] = []
        for key in found.keys where expected[key] == nil {
            if ignoring(key) { ignored.append(key) } else { unexpected.append(key) }
        }
        self.unexpected = unexpected.sorted()
        self.ignored = ignored.sorted()
        shapeMismatches = expected.compactMap { key, shape in
            guard let have = found[key], have != shape else { return nil }
            return ShapeMismatch(key: key, expected: shape, found: have)
        }.sorted { $0.key < $1.key }
    }

    /// No missing, unexpected or misshapen keys.
    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

    /// One line per problem kind with up to `limit` examples, or "all keys match".
    public func summary(limit: Int = 5) -> String {
        func list(_ keys: [String]) -> String {
            keys.prefix(limit).joined(separator: ", ") + (keys.count > limit ? ", … (\(keys.count - limit) more)" : "")
        }
        var lines: [String] = []
        if !missing.isEmpty { lines.append("\(missing.count) missing: \(list(missing))") }
        if !unexpected.isEmpty { lines.append("\(unexpected.count) unexpected: \(list(unexpected))") }
        if !shapeMismatches.isEmpty {
            lines.append("\(shapeMismatches.count) with another shape: "
                + list(shapeMismatches.map { "\($0.key) \($0.found) (expected \($0.expected))" }))
        }
        if !ignored.isEmpty { lines.append("\(ignored.count) ignored") }
        return lines.isEmpty ? "all keys match" : lines.joined(separator: "; ")
    }
}
