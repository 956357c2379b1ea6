import TensorCore

extension CPUBackend {
    /// Group normalisation, then `activation` applied in place on the normalised buffer: bit for bit what
    /// `unary(activation, groupNorm(…))` gives, with one full-size result instead of two (in a video decoder's
    /// res block at full resolution that is a gigabyte less at the peak).
    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float,
                          activation op: UnaryOp) -> Tensor {
        let normalised = groupNorm(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon)
        guard let kind = Activation(op), normalised.count > 0 else { return unary(op, normalised) }
        let done: Bool = withExtendedLifetime(normalised) {
            let p = Self.pointer(normalised)
            do {
                try engine.activation(kind, x: UnsafePointer(p), y: p, count: normalised.count)
                return true
            } catch {
                return false
            }
        }
        return done ? normalised : unary(op, normalised)
    }

    /// `a · wa + b · wb` in one pass: both read through their strides in runs of the trailing dimensions that are
    /// dense in both (a frames-first view of a channels-first video still has whole `H·W` planes), each product
    /// rounded before the sum as in ``ReferenceBackend``'s composition.
    public func weightedSum(_ a: Tensor, _ wa: Float, _ b: Tensor, _ wb: Float) -> Tensor {
        precondition(a.shape == b.shape, "weightedSum: shapes \(a.shape) and \(b.shape)")
        let x = Self.float32(a), y = Self.float32(b)
        if Self.isChannelsLast(x), x.strides == y.strides {
            // Two channels-last maps: one flat pass, the layout kept.
            let out = Self.uninitialized(like: x)
            withExtendedLifetime((x, y, out)) {
                let px = UnsafePointer(Self.pointer(x)), py = UnsafePointer(Self.pointer(y)), q = Self.pointer(out)
                engine.parallelFor(out.count, grain: 16384) { range in
                    VectorLoops.weightedSum(px + range.lowerBound, wa, py + range.lowerBound, wb, q + range.lowerBound,
                                            range.count)
                }
            }
            return out
        }
        let out = Tensor(uninitialized: a.shape)
        let count = out.count
        guard count > 0 else { return out }
        // The trailing dimensions that are contiguous in both inputs form one run per outer index.
        let shape = a.shape
        var run = 1, split = shape.count
        while split > 0 {
            let d = split - 1
            guard shape[d] == 1 || (x.strides[d] == run && y.strides[d] == run) else { break }
            run *= shape[d]
            split = d
        }
        let outer = Array(shape[..<split]), xOuter = Array(x.strides[..<split]), yOuter = Array(y.strides[..<split])
        let rows = outer.reduce(1, *)
        withExtendedLifetime((x, y, out)) {
            let px = UnsafePointer(Self.pointer(x)), py = UnsafePointer(Self.pointer(y)), q = Self.pointer(out)
            engine.parallelFor(rows, grain: max(1, 16384 / max(run, 1))) { range in
                for row in range {
                    var rest = row, offsetX = 0, offsetY = 0
                    for d in outer.indices.reversed() {
                        let index = rest % outer[d]
                        rest /= outer[d]
                        offsetX += index * xOuter[d]
                        offsetY += index * yOuter[d]
                    }
                    VectorLoops.weightedSum(px + offsetX, wa, py + offsetY, wb, q + row * run, run)
                }
            }
        }
        return out
    }
}

extension VectorLoops {
    /// `q[i] = p[i]·wp + r[i]·wr`, each product rounded, then the sum (no fused multiply-add).
    static func weightedSum(_ p: UnsafePointer<Float>, _ wp: Float, _ r: UnsafePointer<Float>, _ wr: Float,
                            _ q: UnsafeMutablePointer<Float>, _ count: Int) {
        let sp = V(repeating: wp), sr = V(repeating: wr)
        var i = 0
        while i + 8 <= count {
            let left = load(p + i) * sp, right = load(r + i) * sr
            store(left + right, q + i)
            i += 8
        }
        while i < count {
            let left = p[i] * wp, right = r[i] * wr
            q[i] = left + right
            i += 1
        }
    }
}
