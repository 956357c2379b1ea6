import TensorCore

/// Elementwise float32 arithmetic on latents for the samplers: each function reads contiguous float32 views of its
/// operands (converting only when needed) and returns a new contiguous float32 tensor of the first operand's shape.
///
/// Every closure is one expression evaluated per element in float32, so the rounding order is the one written
/// (the samplers spell out torch's order of operations; the compiler does not contract `a * b + c` into a fused
/// multiply–add in Swift).
enum LatentMath {
    /// `f(a)` elementwise.
    static func map(_ a: Tensor, _ f: (Float) -> Float) -> Tensor {
        var out = Tensor(zeros: a.shape)
        a.withFloats { pa in
            out.withMutableFloats { po in
                for i in 0..<po.count { po[i] = f(pa[i]) }
            }
        }
        return out
    }

    /// `f(a, b)` elementwise; `a` and `b` have the same element count.
    static func zip(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(a.count == b.count, "LatentMath: \(a.shape) and \(b.shape) differ")
        var out = Tensor(zeros: a.shape)
        a.withFloats { pa in
            b.withFloats { pb in
                out.withMutableFloats { po in
                    for i in 0..<po.count { po[i] = f(pa[i], pb[i]) }
                }
            }
        }
        return out
    }

    /// `f(a, b, c)` elementwise.
    static func zip(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
        precondition(a.count == b.count && a.count == c.count, "LatentMath: \(a.shape), \(b.shape), \(c.shape) differ")
        var out = Tensor(zeros: a.shape)
        a.withFloats { pa in
            b.withFloats { pb in
                c.withFloats { pc in
                    out.withMutableFloats { po in
                        for i in 0..<po.count { po[i] = f(pa[i], pb[i], pc[i]) }
                    }
                }
            }
        }
        return out
    }

    /// `f(a, b, c, d)` elementwise.
    static func zip(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ d: Tensor,
                    _ f: (Float, Float, Float, Float) -> Float) -> Tensor {
        precondition(a.count == b.count && a.count == c.count && a.count == d.count, "LatentMath: operands differ")
        var out = Tensor(zeros: a.shape)
        a.withFloats { pa in
            b.withFloats { pb in
                c.withFloats { pc in
                    d.withFloats { pd in
                        out.withMutableFloats { po in
                            for i in 0..<po.count { po[i] = f(pa[i], pb[i], pc[i], pd[i]) }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `f(a, noise)` elementwise with `noise` a plain array (the ancestral noise draw).
    static func zip(_ a: Tensor, _ noise: [Float], _ f: (Float, Float) -> Float) -> Tensor {
        precondition(a.count == noise.count, "LatentMath: \(a.shape) and \(noise.count) noise values differ")
        var out = Tensor(zeros: a.shape)
        a.withFloats { pa in
            out.withMutableFloats { po in
                for i in 0..<po.count { po[i] = f(pa[i], noise[i]) }
            }
        }
        return out
    }

    /// The elements as a float32 array (for reductions).
    static func values(_ a: Tensor) -> [Float] { a.scalars }
}
