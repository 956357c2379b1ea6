import TensorCore

/// A pointwise activation applied through the backend's ``UnaryOp``.
public struct Activation: Sendable, Equatable {
    public let op: UnaryOp

    public init(_ op: UnaryOp) { self.op = op }

    /// The activation a Hugging Face / ComfyUI configuration names (`quick_gelu`, `gelu`,
    /// `gelu_pytorch_tanh`, `silu`/`swish`, `tanh`, `sigmoid`), or nil.
    public init?(named name: String) {
        switch name {
        case "quick_gelu": op = .quickGelu
        case "gelu": op = .gelu
        case "gelu_pytorch_tanh", "gelu_new", "gelu_tanh": op = .geluTanh
        case "silu", "swish": op = .silu
        case "tanh": op = .tanh
        case "sigmoid": op = .sigmoid
        default: return nil
        }
    }

    public func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        backend.unary(op, x)
    }
}
