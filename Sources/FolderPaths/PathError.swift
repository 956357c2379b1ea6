/// A path that cannot be used: it escapes its base directory, names something invalid, or is missing.
public struct PathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, stable for callers that map errors to HTTP status codes.
    public enum Code: String, Sendable, Equatable {
        /// The path resolves outside the directory it must stay in (`..`, absolute paths, symlinks out).
        case outsideBase
        /// The path or name is malformed (NUL bytes, empty, `.`/`..` as a file name).
        case invalidName
        /// A file or directory that must exist does not.
        case notFound
        /// A file-system call failed.
        case io
    }

    public var code: Code
    public var message: String
    /// The offending path as given by the caller.
    public var path: String

    public init(_ code: Code, _ message: String, path: String) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String { "\(message): \(path)" }

    /// The path escapes its base directory.
    public static func outsideBase(_ path: String, base: String) -> PathError {
        PathError(.outsideBase, "Path resolves outside of \(base)", path: path)
    }
}
