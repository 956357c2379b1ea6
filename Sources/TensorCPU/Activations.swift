import CDNNL

#if canImport(Glibc)
import Glibc
#endif

/// A pointwise activation function.
public enum Activation: String, Sendable, CaseIterable {
    /// `x · Φ(x) = x/2 · (1 + erf(x/√2))`, PyTorch's default `gelu`.
    case gelu
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`, PyTorch's `gelu(approximate="tanh")`.
    case geluTanh
    /// `x · sigmoid(x)` (SiLU / swish).
    case silu
    /// `x · sigmoid(1.702 x)`, CLIP's quick GELU.
    case quickGelu
}

extension CPUEngine {
    /// Applies an activation to `count` contiguous floats through oneDNN's eltwise primitive. `x` may equal `y`.
    ///
    /// - Throws: ``KernelError`` for a oneDNN failure.
    public func activation(_ kind: Activation, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int)
        throws
    {
        guard count > 0 else { return }
        let (algorithm, alpha): (dnnl_alg_kind_t, Float) =
            switch kind {
            case .gelu: (dnnl_eltwise_gelu_erf, 0)
            case .geluTanh: (dnnl_eltwise_gelu_tanh, 0)
            case .silu: (dnnl_eltwise_swish, 1)
            case .quickGelu: (dnnl_eltwise_swish, 1.702)
            }
        let md = try memoryDescriptor([count], strides: [1])
        try runDNNL(PrimitiveKey(kind: "eltwise-\(kind.rawValue)", ints: [count])) { engine in
            var op = dnnl_eltwise_desc_t()
            var md = md
            try check(dnnl_eltwise_forward_desc_init(&op, dnnl_forward_inference, algorithm, &md, alpha, 0),
                      "dnnl_eltwise_forward_desc_init")
            return try primitiveDescriptor(&op, engine: engine, "eltwise pd")
        } args: { _ in
            [(DNNL_ARG_SRC, md, UnsafeRawPointer(x)), (DNNL_ARG_DST, md, UnsafeRawPointer(y))]
        }
    }

    /// Softmax over the last dimension of a `[rows, dim]` buffer, through oneDNN's softmax primitive (max-subtracted,
    /// so large logits and `-inf` mask entries are safe as long as a row has one finite entry). `x` may equal `y`.
    ///
    /// - Throws: ``KernelError`` for a oneDNN failure.
    public func softmax(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int) throws {
        guard rows > 0, dim > 0 else { return }
        let md = try memoryDescriptor([rows, dim], strides: [dim, 1])
        try runDNNL(PrimitiveKey(kind: "softmax", ints: [rows, dim])) { engine in
            var op = dnnl_softmax_desc_t()
            var md = md
            try check(dnnl_softmax_forward_desc_init(&op, dnnl_forward_inference, &md, 1),
                      "dnnl_softmax_forward_desc_init")
            return try primitiveDescriptor(&op, engine: engine, "softmax pd")
        } args: { _ in
            [(DNNL_ARG_SRC, md, UnsafeRawPointer(x)), (DNNL_ARG_DST, md, UnsafeRawPointer(y))]
        }
    }

    /// ``softmax(x:y:rows:dim:)`` computed in float32 and written as bfloat16 bit patterns (rounded to nearest even)
    /// in one pass, for attention whose second product runs in bfloat16.
    public func softmaxToBFloat16(x: UnsafePointer<Float>, y: UnsafeMutableRawPointer, rows: Int, dim: Int) throws {
        guard rows > 0, dim > 0 else { return }
        let source = try memoryDescriptor([rows, dim], strides: [dim, 1])
        let destination = try memoryDescriptor([rows, dim], strides: [dim, 1], type: dnnl_bf16)
        try runDNNL(PrimitiveKey(kind: "softmax_bf16", ints: [rows, dim])) { engine in
            var op = dnnl_softmax_v2_desc_t()
            var (source, destination) = (source, destination)
            try check(dnnl_softmax_v2_forward_desc_init(&op, dnnl_forward_inference, dnnl_softmax_accurate, &source,
                                                        &destination, 1),
                      "dnnl_softmax_v2_forward_desc_init")
            return try primitiveDescriptor(&op, engine: engine, "softmax v2 pd")
        } args: { _ in
            [(DNNL_ARG_SRC, source, UnsafeRawPointer(x)), (DNNL_ARG_DST, destination, UnsafeRawPointer(y))]
        }
    }
}

extension KernelReference {
    /// Naive activation, computed in `Double`.
    public static func activation(_ kind: Activation, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = Double(x[i])
            let r: Double =
                switch kind {
                case .gelu: 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
                case .geluTanh: 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
                case .silu: v / (1 + exp(-v))
                case .quickGelu: v / (1 + exp(-1.702 * v))
                }
            y[i] = Float(r)
        }
    }

    /// Naive softmax over the last dimension.
    public static func softmax(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
        for r in 0..<rows {
            let xr = x + r * dim
            var m = -Double.infinity
            for i in 0..<dim { m = max(m, Double(xr[i])) }
            var total = 0.0
            for i in 0..<dim { total += exp(Double(xr[i]) - m) }
            for i in 0..<dim { y[r * dim + i] = Float(exp(Double(xr[i]) - m) / total) }
        }
    }
}
