/// A media decoding or encoding failure with a message fit for an `execution_error`.
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// The bytes are not a format Loom can decode (unknown magic bytes).
        case unsupportedFormat
        /// The file is corrupt or truncated.
        case invalidData
        /// The image is larger than the configured pixel limit.
        case tooLarge
        /// The arguments were invalid (wrong channel count, size mismatch).
        case invalidArgument
        /// Memory could not be allocated.
        case outOfMemory
        /// An external program Loom needs (ffmpeg, ffprobe) is not installed or not executable.
        case toolMissing
        /// An external program (ffmpeg, ffprobe) exited with an error; the message carries its output.
        case toolFailed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
