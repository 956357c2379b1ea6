/// The closed set of operations the models are written in.
///
/// ``ReferenceBackend`` defines every op with plain loops and is the specification; fast backends
/// (TensorCPU's `CPUBackend`) must agree with it within the tolerances of the op harness. Inputs may
/// be any views (strided, broadcast, offset) of any float dtype; outputs are new contiguous float32
/// tensors unless an op says otherwise — and, on a backend whose ``channelsLast(_:)`` changes the layout, ops on
/// such maps may keep that layout (read results through views or ``contiguous(_:)``, never as raw memory). Shape
/// errors are programming errors (models validate checkpoint shapes when loading) and stop with a precondition
/// failure naming the op and shapes.
///
/// Backends run compute on the calling thread: call them from a compute thread, never from an event
/// loop or the cooperative pool.
public protocol Backend: Sendable {
    /// Batched matrix product `a[..., m, k] · b[..., k, n]`, broadcasting the batch dimensions.
    func matmul(_ a: Tensor, _ b: Tensor) -> Tensor

    /// `x[..., in] · weightᵀ + bias` with PyTorch's `weight[out, in]` layout.
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor

    /// Convolution over 1, 2 or 3 spatial dimensions, NC[D]HW input and `[out, in/groups, k...]` weight.
    func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: [Int], padding: [Int], dilation: [Int],
                     groups: Int) -> Tensor

    /// Group normalisation of `x[N, C, ...]` over `groups` channel groups, with optional per-channel affine.
    func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor

    /// ``groupNorm(_:groups:weight:bias:epsilon:)`` followed by `activation`, as one result: the same values as the
    /// two ops apart, without a second full-size tensor (a fast backend activates the normalised buffer in place).
    func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float, activation: UnaryOp) -> Tensor

    /// `a · wa + b · wb` elementwise over two tensors of one shape (either may be a strided view), each product
    /// rounded before the sum: the same values as `add(affine(a, wa, 0), affine(b, wb, 0))`, in one pass and one
    /// result (the video models' learned blends of a spatial and a temporal path).
    func weightedSum(_ a: Tensor, _ wa: Float, _ b: Tensor, _ wb: Float) -> Tensor

    /// A transformer's GEGLU feed-forward (Shazeer 2020): `[value, gate] = linear(x, projection, projectionBias)`
    /// split into halves of the last dimension, then `linear(value · GELU(gate), output, outputBias)` (erf GELU).
    /// The same values as those ops one by one; a fast backend runs it in blocks of rows, so the `2·inner`-wide
    /// projection never exists for all rows at once.
    func gegluFeedForward(_ x: Tensor, projection: Tensor, projectionBias: Tensor?, output: Tensor,
                          outputBias: Tensor?) -> Tensor

    /// Layer normalisation over the last dimension, with optional affine.
    func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor

    /// Softmax over the last dimension.
    func softmax(_ x: Tensor) -> Tensor

    /// Scaled dot-product attention: `q[B, H, Lq, D]`, `k[B, H, Lk, D]`, `v[B, H, Lk, Dv]` →
    /// `[B, H, Lq, Dv]`; `mask` is added to the scores (broadcast to `[B, H, Lq, Lk]`); `scale`
    /// defaults to `1/sqrt(D)`.
    func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, scale: Float?) -> Tensor

    func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor

    /// Elementwise op with NumPy broadcasting.
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor

    /// `x · scale + shift` elementwise with scalar constants.
    func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor

    /// Reduction over `dims`, keeping them as size 1 when `keepDims`.
    func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], keepDims: Bool) -> Tensor

    /// Rows of `table[vocab, dim]` for the int64 `ids[...]` → `[..., dim]`.
    func embedding(_ ids: Tensor, table: Tensor) -> Tensor

    /// Resizes the last two dimensions of `x[N, C, H, W]` to `size` (PyTorch `F.interpolate`,
    /// `align_corners=False`).
    func interpolate(_ x: Tensor, size: (height: Int, width: Int), mode: InterpolationMode) -> Tensor

    /// A dense float32 copy of any view (materialises permutes, slices and broadcasts).
    func contiguous(_ x: Tensor) -> Tensor

    /// `x[N, C, H, W]` with the same values in the memory layout this backend's 2-d convolutions run fastest on (a
    /// view with other strides, such as channels-last); the ops that follow keep that layout where they can. A hint
    /// for a chain of convolutions over large maps (a VAE decoder); the default returns `x`.
    func channelsLast(_ x: Tensor) -> Tensor
}

public enum UnaryOp: String, Sendable, CaseIterable {
    /// GELU, erf form (PyTorch's default).
    case gelu
    /// GELU, tanh approximation.
    case geluTanh
    case silu
    /// `x · sigmoid(1.702 x)` (CLIP).
    case quickGelu
    case sigmoid
    case tanh
    case exp
    case sqrt
    case negate
}

public enum BinaryOp: String, Sendable, CaseIterable {
    case add, subtract, multiply, divide, maximum, minimum
}

public enum ReduceOp: String, Sendable, CaseIterable {
    case sum, mean, max, min
}

public enum InterpolationMode: String, Sendable, CaseIterable {
    /// PyTorch `nearest` (floor of the scaled index).
    case nearest
    /// PyTorch `nearest-exact`.
    case nearestExact
    case bilinear
}

extension Backend {
    public func channelsLast(_ x: Tensor) -> Tensor { x }

    /// The composition the fused ops are defined by.
    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float,
                          activation: UnaryOp) -> Tensor {
        unary(activation, groupNorm(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon))
    }

    public func weightedSum(_ a: Tensor, _ wa: Float, _ b: Tensor, _ wb: Float) -> Tensor {
        precondition(a.shape == b.shape, "weightedSum: shapes \(a.shape) and \(b.shape)")
        return add(affine(a, scale: wa, shift: 0), affine(b, scale: wb, shift: 0))
    }

    public func gegluFeedForward(_ x: Tensor, projection: Tensor, projectionBias: Tensor?, output: Tensor,
                                 outputBias: Tensor?) -> Tensor {
        composedGEGLUFeedForward(x, projection: projection, projectionBias: projectionBias, output: output,
                                 outputBias: outputBias)
    }

    /// ``gegluFeedForward(_:projection:projectionBias:output:outputBias:)`` op by op (its definition).
    public func composedGEGLUFeedForward(_ x: Tensor, projection: Tensor, projectionBias: Tensor?, output: Tensor,
                                         outputBias: Tensor?) -> Tensor {
        let projected = linear(x, weight: projection, bias: projectionBias)
        let inner = projection.shape[0] / 2
        let value = projected.narrowed(dim: -1, start: 0, length: inner)
        let gate = projected.narrowed(dim: -1, start: inner, length: inner)
        return linear(multiply(value, unary(.gelu, gate)), weight: output, bias: outputBias)
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { binary(.add, a, b) }
    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor { binary(.multiply, a, b) }
}

/// The shape two tensors broadcast to (NumPy rules), or `nil` if they do not.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard x == y || x == 1 || y == 1 else { return nil }
        out[i] = x == 1 ? y : x
    }
    return out
}
