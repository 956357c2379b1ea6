extension ReferenceBackend {
    /// `torch.nn.functional.interpolate(x, size=size, mode=…, align_corners=False)` over the last two dimensions
    /// (every leading dimension is a batch of planes).
    ///
    /// Source indices follow PyTorch's CPU kernels in single precision, with `scale = Float(in) / Float(out)`:
    /// - `nearest`: `min(floor(dst · scale), in - 1)` (`dst` itself when `out == in`, `dst >> 1` when `out == 2·in`);
    /// - `nearestExact`: `min(floor((dst + 0.5) · scale), in - 1)`;
    /// - `bilinear`: `src = max(scale · (dst + 0.5) - 0.5, 0)`, `i0 = min(floor(src), in - 1)`, `i1 = min(i0 + 1,
    ///   in - 1)`, `λ = min(max(src - i0, 0), 1)`, blending `(1 - λ)·x[i0] + λ·x[i1]` along each axis.
    public func interpolate(_ x: Tensor, size: (height: Int, width: Int), mode: InterpolationMode) -> Tensor {
        precondition(x.rank >= 2 && size.height >= 1 && size.width >= 1, "interpolate: \(x.shape) to \(size)")
        let inH = x.shape[x.rank - 2], inW = x.shape[x.rank - 1]
        precondition(inH >= 1 && inW >= 1, "interpolate: empty input \(x.shape)")
        let planes = x.shape.dropLast(2).reduce(1, *)
        let rows = Self.interpolationAxis(mode, input: inH, output: size.height)
        let cols = Self.interpolationAxis(mode, input: inW, output: size.width)
        let xs = x.scalars
        var out = [Float](repeating: 0, count: planes * size.height * size.width)
        for p in 0..<planes {
            func at(_ h: Int, _ w: Int) -> Double { Double(xs[(p * inH + h) * inW + w]) }
            for oh in 0..<size.height {
                let (h0, h1, ly) = rows[oh]
                for ow in 0..<size.width {
                    let (w0, w1, lx) = cols[ow]
                    let top = (1 - Double(lx)) * at(h0, w0) + Double(lx) * at(h0, w1)
                    let bottom = (1 - Double(lx)) * at(h1, w0) + Double(lx) * at(h1, w1)
                    out[(p * size.height + oh) * size.width + ow] = Float((1 - Double(ly)) * top + Double(ly) * bottom)
                }
            }
        }
        return Tensor(shape: Array(x.shape.dropLast(2)) + [size.height, size.width], scalars: out)
    }

    /// Per output index along one axis: the two source indices and the weight of the second.
    static func interpolationAxis(_ mode: InterpolationMode, input: Int, output: Int) -> [(Int, Int, Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { dst in
            switch mode {
            case .nearest:
                let src: Int
                if output == input {
                    src = dst
                } else if output == 2 * input {
                    src = dst >> 1
                } else {
                    src = Swift.min(Int((Float(dst) * scale).rounded(.down)), input - 1)
                }
                return (src, src, 0)
            case .nearestExact:
                // PyTorch multiplies in double (`(dst + 0.5) * scale`) and floors in single precision.
                let product = Float((Double(dst) + 0.5) * Double(scale))
                let src = Swift.min(Int(product.rounded(.down)), input - 1)
                return (src, src, 0)
            case .bilinear:
                let src = Swift.max(scale * (Float(dst) + 0.5) - 0.5, 0)
                let i0 = Swift.min(Int(src.rounded(.down)), input - 1)
                let i1 = Swift.min(i0 + 1, input - 1)
                let lambda = Swift.min(Swift.max(src - Float(i0), 0), 1)
                return (i0, i1, lambda)
            }
        }
    }
}
