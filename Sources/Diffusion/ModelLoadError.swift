/// Why a model could not be loaded: a code, a message and the file it concerns.
public struct ModelLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The file does not exist (or is not a regular file).
        case fileNotFound
        /// The file is not a readable safetensors file (malformed header, truncated, …).
        case unreadableFile
        /// The file is readable but holds no model family Loom supports, or not the one asked for.
        case unsupportedModel
        /// The model family is recognised but its weights do not load (missing or unexpected keys, bad shapes).
        case loadFailed
    }

    public var code: Code
    public var message: String
    public var path: String?
    /// The underlying error's description, if any.
    public var cause: String?

    public init(_ code: Code, _ message: String, path: String? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
    }

    public var description: String {
        var text = message
        if let path { text += " (\(path))" }
        if let cause { text += ": \(cause)" }
        return text
    }
}
