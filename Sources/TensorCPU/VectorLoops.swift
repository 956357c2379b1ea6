/// Small SIMD loops shared by the hand-written kernels (8-wide: one AVX2 register of floats, two accumulators).
enum VectorLoops {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Σ p[i], accumulated in float lanes and combined in double.
    static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
        var a = V(), b = V()
        var i = 0
        while i + 16 <= count {
            a += load(p + i)
            b += load(p + i + 8)
            i += 16
        }
        var total = Double((a + b).sum())
        while i < count { total += Double(p[i]); i += 1 }
        return total
    }

    /// Σ (p[i] - mean)².
    static func squaredDeviation(_ p: UnsafePointer<Float>, _ count: Int, mean: Float) -> Double {
        let m = V(repeating: mean)
        var a = V(), b = V()
        var i = 0
        while i + 16 <= count {
            let x = load(p + i) - m, y = load(p + i + 8) - m
            // Not `addProduct`: without FMA in the baseline x86-64 target it becomes a libm `fmaf` call per lane.
            a += x * x
            b += y * y
            i += 16
        }
        var total = Double((a + b).sum())
        while i < count { let d = Double(p[i] - mean); total += d * d; i += 1 }
        return total
    }

    /// q[i] = p[i] · scale + shift.
    static func affine(_ p: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ count: Int, scale: Float, shift: Float) {
        let s = V(repeating: scale), t = V(repeating: shift)
        var i = 0
        while i + 8 <= count {
            store(load(p + i) * s + t, q + i)
            i += 8
        }
        while i < count { q[i] = p[i] * scale + shift; i += 1 }
    }
}
