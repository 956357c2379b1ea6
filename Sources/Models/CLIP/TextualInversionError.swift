/// A textual-inversion embedding file that cannot be used.
public struct TextualInversionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, stable for tests and for callers that react to specific failures.
    public enum Code: String, Sendable, Equatable, Codable {
        /// A pickle (`.pt`, `.bin`) file: Loom reads safetensors only.
        case unsupportedFormat = "unsupported_format"
        /// The file is not a readable safetensors file.
        case unreadableFile = "unreadable_file"
        /// No tensor in the file is an embedding, or several could be and none is named as one.
        case noEmbeddingTensor = "no_embedding_tensor"
        /// The vectors' width is not the text encoder's hidden size.
        case wrongWidth = "wrong_width"
        /// The embedding has no vectors.
        case empty
        /// Tokens reference an embedding that was not passed to the encoder, or a row it lacks.
        case missingEmbedding = "missing_embedding"
    }

    public var code: Code
    public var message: String
    /// The embedding file (or key) concerned.
    public var path: String?
    /// The underlying error, as text so the error stays `Sendable` and `Equatable`.
    public var cause: String?

    public init(_ code: Code, _ message: String, path: String? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
    }

    public var description: String {
        "\(code.rawValue): \(message)" + (path.map { " [\($0)]" } ?? "") + (cause.map { " (\($0))" } ?? "")
    }
}
