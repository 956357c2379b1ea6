/// An error raised by a CPU kernel: a oneDNN call that failed or an unsupported configuration.
public struct KernelError: Error, Sendable, CustomStringConvertible {
    /// A short machine-readable code, for example `"dnnl_unimplemented"` or `"invalid_shape"`.
    public var code: String
    /// What was attempted, in words.
    public var message: String
    /// The oneDNN status code, when the error came from oneDNN.
    public var status: Int32?

    public init(code: String, message: String, status: Int32? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String {
        status.map { "\(code): \(message) (dnnl status \($0))" } ?? "\(code): \(message)"
    }
}
