extension ReferenceBackend {
    /// Elementwise activation or function, evaluated in `Double` and rounded to float32:
    /// `gelu` = `x/2 · (1 + erf(x/√2))`, `geluTanh` = `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`,
    /// `silu` = `x · σ(x)`, `quickGelu` = `x · σ(1.702 x)`, `sigmoid` = `σ(x) = 1/(1 + e^-x)`.
    public func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor {
        let values = x.scalars.map { Float(Self.apply(op, Double($0))) }
        return Tensor(shape: x.shape, scalars: values)
    }

    /// Elementwise `a ⊕ b` with NumPy broadcasting (`torch.add`, `sub`, `mul`, `div`, `maximum`, `minimum`; the last
    /// two propagate NaN), computed in float32 as PyTorch does.
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let shape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("binary \(op): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let x = a.scalars, y = b.scalars
        let xOffsets = Self.broadcastOffsets(from: a.shape, to: shape)
        let yOffsets = Self.broadcastOffsets(from: b.shape, to: shape)
        var out = [Float](repeating: 0, count: xOffsets.count)
        for i in 0..<out.count { out[i] = Self.apply(op, x[xOffsets[i]], y[yOffsets[i]]) }
        return Tensor(shape: shape, scalars: out)
    }

    /// `x · scale + shift` elementwise, in float32.
    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
        Tensor(shape: x.shape, scalars: x.scalars.map { $0 * scale + shift })
    }

    static func apply(_ op: UnaryOp, _ x: Double) -> Double {
        switch op {
        case .gelu: return 0.5 * x * ReferenceMath.erfc(-x / 2.0.squareRoot())  // = x/2 · (1 + erf(x/√2))
        case .geluTanh:
            return 0.5 * x * (1 + ReferenceMath.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        case .silu: return x * ReferenceMath.sigmoid(x)
        case .quickGelu: return x * ReferenceMath.sigmoid(1.702 * x)
        case .sigmoid: return ReferenceMath.sigmoid(x)
        case .tanh: return ReferenceMath.tanh(x)
        case .exp: return ReferenceMath.exp(x)
        case .sqrt: return x.squareRoot()
        case .negate: return -x
        }
    }

    static func apply(_ op: BinaryOp, _ a: Float, _ b: Float) -> Float {
        switch op {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        case .maximum: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .minimum: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        }
    }
}
