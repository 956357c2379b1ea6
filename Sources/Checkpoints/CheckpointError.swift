/// An error reading or interpreting a checkpoint file.
///
/// Every error names the file it came from and, where one is involved, the tensor key, so that a
/// message shown to a user points at the exact problem.
public struct CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, stable for tests and for callers that react to specific failures.
    public enum Code: String, Sendable, Equatable, Codable {
        /// The file could not be opened, stat'ed or mapped.
        case ioError
        /// The file is shorter than the 8-byte header length prefix.
        case truncatedFile
        /// The declared header length exceeds the limit for headers.
        case headerTooLarge
        /// The declared header length runs past the end of the file.
        case headerOutOfBounds
        /// The header bytes are not valid UTF-8.
        case headerNotUTF8
        /// The header is not valid JSON.
        case headerNotJSON
        /// The header is JSON but not of the safetensors form (an object of tensor entries).
        case invalidHeader
        /// A tensor entry has an unknown `dtype`.
        case unknownDType
        /// A tensor entry has a negative or overflowing shape.
        case invalidShape
        /// A tensor entry has `data_offsets` with begin > end.
        case invalidOffsets
        /// A tensor's data runs past the end of the file.
        case dataOutOfBounds
        /// Two tensors share bytes of the data section.
        case overlappingTensors
        /// A tensor's byte length does not equal product(shape) × dtype size.
        case byteLengthMismatch
        /// The caller asked for a tensor the file does not contain.
        case missingTensor
        /// The caller asked for a conversion the tensor's dtype does not support.
        case unsupportedConversion
        /// The checkpoint's keys and shapes match no supported model family.
        case unrecognisedModel
    }

    public var code: Code
    /// A human-readable explanation, without the file name (see `description`).
    public var message: String
    /// The checkpoint file, when the error concerns one.
    public var path: String?
    /// The tensor key, when the error concerns one.
    public var key: String?
    /// A lower-level error, such as the `errno` description of a failed system call.
    public var cause: String?

    public init(_ code: Code, _ message: String, path: String? = nil, key: String? = nil, cause: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.key = key
        self.cause = cause
    }

    public var description: String {
        var text = ""
        if let path { text += "\(path): " }
        if let key { text += "tensor '\(key)': " }
        text += message
        if let cause { text += " (\(cause))" }
        return text
    }
}
