/// A failure to load the CLIP tokenizer's vocabulary.
public struct CLIPTokenizerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in a stable machine-readable form.
    public enum Code: String, Sendable {
        case resourcesMissing = "resources_missing"
        case unreadableFile = "unreadable_file"
        case malformedVocabulary = "malformed_vocabulary"
        case malformedMerges = "malformed_merges"
    }

    public let code: Code
    public let message: String
    /// The underlying error, if any (kept as text so the error stays `Sendable`).
    public let cause: String?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause.map { String(describing: $0) }
    }

    public var description: String {
        "\(code.rawValue): \(message)" + (cause.map { " (\($0))" } ?? "")
    }
}
