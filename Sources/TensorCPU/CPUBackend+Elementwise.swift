import TensorCore

#if canImport(Glibc)
import Glibc
#endif

extension Activation {
    /// The oneDNN activation computing `op`, or nil for the functions that run as plain loops.
    init?(_ op: UnaryOp) {
        switch op {
        case .gelu: self = .gelu
        case .geluTanh: self = .geluTanh
        case .silu: self = .silu
        case .quickGelu: self = .quickGelu
        case .sigmoid, .tanh, .exp, .sqrt, .negate: return nil
        }
    }
}

extension CPUBackend {
    /// GELU (erf and tanh), SiLU and quick GELU on oneDNN's eltwise primitive; the other functions as float32 loops
    /// over libm. Falls back to ``ReferenceBackend`` when oneDNN fails.
    public func unary(_ op: UnaryOp, _ x: Tensor) -> Tensor {
        // A channels-last map is processed as its one run of storage and keeps its strides.
        let keepsLayout = Self.isChannelsLast(x)
        let input = keepsLayout ? x : Self.dense(x)
        let out = keepsLayout ? Self.uninitialized(like: x) : Tensor(uninitialized: x.shape)
        let count = out.count
        guard count > 0 else { return out }
        let activation = Activation(op)
        return withExtendedLifetime((input, out)) {
            let p = UnsafePointer(Self.pointer(input)), q = Self.pointer(out)
            if let activation {
                do {
                    try engine.activation(activation, x: p, y: q, count: count)
                    return out
                } catch {
                    return reference.unary(op, x)
                }
            }
            engine.parallelFor(count, grain: 16384) { range in
                switch op {
                case .sigmoid: for i in range { q[i] = 1 / (1 + expf(-p[i])) }
                case .tanh: for i in range { q[i] = tanhf(p[i]) }
                case .exp: for i in range { q[i] = expf(p[i]) }
                case .sqrt: for i in range { q[i] = p[i].squareRoot() }
                case .negate: for i in range { q[i] = -p[i] }
                case .gelu, .geluTanh, .silu, .quickGelu: break
                }
            }
            return out
        }
    }

    /// Broadcasting arithmetic on ``CPUEngine/binary(_:a:aShape:aStrides:b:bShape:bStrides:out:)``, reading float32
    /// views through their strides (no copy); `maximum`/`minimum` (NaN-propagating) with the same broadcast plan.
    public func binary(_ op: TensorCore.BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let shape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("binary \(op): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let x = Self.float32(a), y = Self.float32(b)
        let kernelOp: TensorCPU.BinaryOp? =
            switch op {
            case .add: .add
            case .subtract: .sub
            case .multiply: .mul
            case .divide: .div
            case .maximum, .minimum: nil
            }
        if let kernelOp, Self.isChannelsLast(x), x.shape == y.shape, x.strides == y.strides {
            // Two channels-last maps: one flat pass, the layout kept.
            let out = Self.uninitialized(like: x)
            withExtendedLifetime((x, y, out)) {
                engine.binary(kernelOp, a: Self.pointer(x), aShape: [x.count], aStrides: [1], b: Self.pointer(y),
                              bShape: [x.count], bStrides: [1], out: Self.pointer(out))
            }
            return out
        }
        let out = Tensor(uninitialized: shape)
        guard out.count > 0 else { return out }
        withExtendedLifetime((x, y, out)) {
            let pa = Self.pointer(x), pb = Self.pointer(y), pc = Self.pointer(out)
            if let kernelOp {
                engine.binary(kernelOp, a: pa, aShape: x.shape, aStrides: x.strides, b: pb, bShape: y.shape,
                              bStrides: y.strides, out: pc)
                return
            }
            let plan = BroadcastPlan(shape: shape, aShape: x.shape, aStrides: x.strides, bShape: y.shape,
                                     bStrides: y.strides)
            let inner = plan.shape.last!, sa = plan.aStrides.last!, sb = plan.bStrides.last!
            let isMaximum = op == .maximum
            engine.parallelFor(out.count / inner, grain: max(1, 16384 / inner)) { range in
                for row in range {
                    var rest = row, offA = 0, offB = 0
                    for d in stride(from: plan.shape.count - 2, through: 0, by: -1) {
                        let index = rest % plan.shape[d]
                        rest /= plan.shape[d]
                        offA += index * plan.aStrides[d]
                        offB += index * plan.bStrides[d]
                    }
                    let o = pc + row * inner
                    for i in 0..<inner {
                        let u = pa[offA + i * sa], w = pb[offB + i * sb]
                        o[i] = u.isNaN || w.isNaN ? .nan : (isMaximum ? max(u, w) : min(u, w))
                    }
                }
            }
        }
        return out
    }

    /// `x · scale + shift` with a SIMD loop.
    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
        let input = Self.dense(x)
        let out = Tensor(uninitialized: x.shape)
        let count = out.count
        withExtendedLifetime((input, out)) {
            let p = UnsafePointer(Self.pointer(input)), q = Self.pointer(out)
            engine.parallelFor(count, grain: 16384) { range in
                VectorLoops.affine(p + range.lowerBound, q + range.lowerBound, range.count, scale: scale, shift: shift)
            }
        }
        return out
    }

    /// Resizes the last two dimensions: `nearest` and `bilinear` on ``CPUEngine/interpolate(_:x:y:planes:inHeight:inWidth:outHeight:outWidth:)``,
    /// `nearestExact` on ``ReferenceBackend``.
    public func interpolate(_ x: Tensor, size: (height: Int, width: Int), mode: TensorCore.InterpolationMode) -> Tensor {
        precondition(x.rank >= 2 && size.height >= 1 && size.width >= 1, "interpolate: \(x.shape) to \(size)")
        let kernelMode: TensorCPU.InterpolationMode
        switch mode {
        case .nearest: kernelMode = .nearest
        case .bilinear: kernelMode = .bilinear
        case .nearestExact: return reference.interpolate(x, size: size, mode: mode)
        }
        let inH = x.shape[x.rank - 2], inW = x.shape[x.rank - 1]
        precondition(inH >= 1 && inW >= 1, "interpolate: empty input \(x.shape)")
        if kernelMode == .nearest, Self.isChannelsLast(x) {
            return interpolateNearestChannelsLast(x, height: size.height, width: size.width)
        }
        let input = Self.dense(x)
        let out = Tensor(uninitialized: Array(x.shape.dropLast(2)) + [size.height, size.width])
        withExtendedLifetime((input, out)) {
            engine.interpolate(kernelMode, x: Self.pointer(input), y: Self.pointer(out), planes: x.count / (inH * inW),
                               inHeight: inH, inWidth: inW, outHeight: size.height, outWidth: size.width)
        }
        return out
    }
}
