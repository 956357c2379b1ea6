/// How the keys of a ``ParameterSource`` compared with the parameters a module read.
///
/// Nothing is dropped silently: every source key under the loader's prefix is either read, listed
/// as `unexpected`, or listed as `ignored` because a named rule said so.
public struct ParameterLoadReport: Sendable, Equatable, Codable {
    /// A key present with another shape than the module needs.
    public struct ShapeMismatch: Sendable, Equatable, Codable {
        public var key: String
        public var expected: [Int]
        public var found: [Int]

        public init(key: String, expected: [Int], found: [Int]) {
            self.key = key
            self.expected = expected
            self.found = found
        }
    }

    /// A key that was present but could not be read as a tensor (e.g. an unsupported dtype).
    public struct ReadFailure: Sendable, Equatable, Codable {
        public var key: String
        public var message: String

        public init(key: String, message: String) {
            self.key = key
            self.message = message
        }
    }

    /// Full keys the module needs and the source lacks, sorted.
    public var missing: [String] = []
    /// Full keys under the prefix that no parameter read and no rule ignores, sorted.
    public var unexpected: [String] = []
    /// Keys present with the wrong shape, sorted by key.
    public var shapeMismatches: [ShapeMismatch] = []
    /// Keys that could not be read.
    public var readFailures: [ReadFailure] = []
    /// Keys under the prefix that a rule marks as unused (buffers such as `position_ids`), sorted.
    public var ignored: [String] = []
    /// Number of parameters read.
    public var loaded = 0

    public init() {}

    /// No missing, unexpected, misshapen or unreadable keys.
    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty && readFailures.isEmpty }

    /// One line per problem kind with up to `limit` examples, or "all N keys match".
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
        if !readFailures.isEmpty { lines.append("\(readFailures.count) unreadable: " + list(readFailures.map { "\($0.key) (\($0.message))" })) }
        if !ignored.isEmpty { lines.append("\(ignored.count) ignored") }
        return lines.isEmpty ? "all \(loaded) keys match" : lines.joined(separator: "; ")
    }
}

/// Loading failed: the report says which keys were missing, unexpected, misshapen or unreadable.
public struct ParameterLoadError: Error, Sendable, CustomStringConvertible {
    public var code = "parameter_load_failed"
    /// The module being loaded, e.g. "CLIP text encoder".
    public var module: String
    /// The key prefix the module was loaded from.
    public var prefix: String
    public var report: ParameterLoadReport

    public init(module: String, prefix: String, report: ParameterLoadReport) {
        self.module = module
        self.prefix = prefix
        self.report = report
    }

    public var description: String { "cannot load \(module) from keys under \"\(prefix)\": \(report.summary())" }
}
