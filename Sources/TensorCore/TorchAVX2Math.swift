/// The float32 `log` and `sincos` of torch's vectorised ("avx2") normal kernel, bit for bit, eight lanes at a time.
///
/// Algorithms: the Cephes single-precision `logf` and `sinf`/`cosf` (S. L. Moshier, *Methods and Programs for
/// Mathematical Functions*, 1989): a frexp split with a degree-8 polynomial for `log`, and an octant reduction with
/// a three-part π/4 followed by the Cephes sine and cosine polynomials. torch evaluates them with AVX2 intrinsics,
/// and its compiler fuses some of the multiply–add pairs; the fused positions below are the ones that reproduce
/// torch (spec: `shared/spec/torch-rng.md`). Every other operation is a plain float32 operation.
///
/// A float32 fused multiply–add is emulated exactly in double precision (`fma32`) so that the code needs neither
/// a hardware-FMA build setting nor a libm call: Swift on x86-64 compiles for the baseline ISA, where
/// `Float.addingProduct` becomes a call to `fmaf`.
enum TorchAVX2Math {
    typealias F8 = SIMD8<Float>
    typealias D8 = SIMD8<Double>
    typealias I8 = SIMD8<Int32>
    typealias L8 = SIMD8<Int64>

    // log(x): Cephes polynomial coefficients and the split ln 2 = q2 - q1.
    static let sqrtHalf: Float = 0.707106781186547524
    static let logP: (Float, Float, Float, Float, Float, Float, Float, Float, Float) = (
        7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
        -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1
    )
    static let logQ1: Float = -2.12194440e-4
    static let logQ2: Float = 0.693359375

    // sincos(x): 4/π, π/4 in three parts, and the Cephes polynomials.
    static let fourOverPi: Float = 1.27323954473516
    static let minusPiOver4A: Float = -0.78515625
    static let minusPiOver4B: Float = -2.4187564849853515625e-4
    static let minusPiOver4C: Float = -3.77489497744594108e-8
    static let sinP: (Float, Float, Float) = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)
    static let cosP: (Float, Float, Float) = (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)

    /// `float(2π)`, the factor torch's vectorised kernel multiplies `u2` by (in float32).
    static let twoPi: Float = 6.2831855

    /// Correctly rounded float32 `a * b + c`.
    ///
    /// The product of two floats is exact in double; the double sum is made "round to odd" from its exact
    /// TwoSum residual, after which rounding to float32 is correct (double has 29 more bits than float32).
    /// Reference: S. Boldo and G. Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
    /// using rounding to odd", IEEE Transactions on Computers 57(4), 2008.
    @inline(__always)
    static func fma32(_ a: F8, _ b: F8, _ c: F8) -> F8 {
        let product = widen(a) * widen(b)
        let addend = widen(c)
        let sum = product + addend
        let productPart = sum - addend
        let residual = (product - productPart) + (addend - (sum - productPart))
        let sumBits = unsafeBitCast(sum, to: L8.self)
        let residualBits = unsafeBitCast(residual, to: L8.self)
        // Inexact and even: step one ulp towards the exact value (away from zero if the signs agree).
        // Branch-free integer masks: the stdlib's mask `replacing` is a per-lane loop.
        let step = ((sumBits ^ residualBits) &>> 63) | 1
        let inexact = ((residualBits & .max) &+ .max) &>> 63  // all ones where residual != ±0
        let even = (sumBits & 1) &- 1  // all ones where the last bit is 0
        return narrow(unsafeBitCast(sumBits &+ (step & inexact & even), to: D8.self))
    }

    /// Lane-wise float → double (spelled out lane by lane: the generic SIMD conversion is not vectorised).
    @inline(__always)
    static func widen(_ a: F8) -> D8 {
        D8(Double(a[0]), Double(a[1]), Double(a[2]), Double(a[3]), Double(a[4]), Double(a[5]), Double(a[6]), Double(a[7]))
    }

    /// Lane-wise double → float, rounding to nearest.
    @inline(__always)
    static func narrow(_ a: D8) -> F8 {
        F8(Float(a[0]), Float(a[1]), Float(a[2]), Float(a[3]), Float(a[4]), Float(a[5]), Float(a[6]), Float(a[7]))
    }

    /// Exact int → float for |k| < 2^22 (magic-number conversion).
    @inline(__always)
    static func float(_ k: I8) -> F8 {
        unsafeBitCast(k &+ 0x4B40_0000, to: F8.self) - 12_582_912  // 1.5 · 2^23
    }

    /// Lane select with an all-ones / all-zeros integer mask.
    @inline(__always)
    static func select(_ mask: I8, _ ifSet: F8, _ otherwise: F8) -> F8 {
        let a = unsafeBitCast(ifSet, to: I8.self)
        let b = unsafeBitCast(otherwise, to: I8.self)
        return unsafeBitCast((a & mask) | (b & ~mask), to: F8.self)
    }

    @inline(__always)
    static func fma32(_ a: F8, _ b: F8, _ c: Float) -> F8 { fma32(a, b, F8(repeating: c)) }

    /// Natural log of each lane, for lanes in (0, 1] (normal floats).
    @inline(__always)
    static func log(_ x: F8) -> F8 {
        let bits = unsafeBitCast(x, to: I8.self)
        let mBits = (bits & ~0x7F80_0000) | 0x3F00_0000
        var m = unsafeBitCast(mBits, to: F8.self)  // mantissa in [0.5, 1)
        // m < √½ (both positive, so compare bit patterns; the difference cannot overflow).
        let below = (mBits &- Int32(bitPattern: sqrtHalf.bitPattern)) &>> 31
        let exponent = float((bits &>> 23) &- 126 &+ below)  // e - 1 where m < √½
        m = (m - 1) + select(below, m, F8(repeating: 0))
        let z = m * m
        var y = F8(repeating: logP.0)
        y = fma32(y, m, logP.1)
        y = fma32(y, m, logP.2)
        y = fma32(y, m, logP.3)
        y = fma32(y, m, logP.4)
        y = fma32(y, m, logP.5)
        y = fma32(y, m, logP.6)
        y = fma32(y, m, logP.7)
        y = fma32(y, m, logP.8)
        y = y * m
        y = fma32(y, z, exponent * logQ1)
        // fma(-z, 0.5, y) and fma(e, q2, m + y): both products are exact in float32, so one rounding is the same.
        y = y - z * 0.5
        return (m + y) + exponent * logQ2
    }

    /// Sine and cosine of each lane, for lanes in [0, 2π].
    @inline(__always)
    static func sincos(_ x: F8) -> (sin: F8, cos: F8) {
        let scaled = x * fourOverPi
        // Truncation (lanes are >= 0 and < 2^22): round to nearest with the 2^23 trick, minus one if that rounded up.
        let magic = scaled + 0x1p23
        let nearest = magic - 0x1p23
        let roundedUp = unsafeBitCast(scaled - nearest, to: I8.self) &>> 31
        var octant = unsafeBitCast(magic, to: I8.self) &- 0x4B00_0000 &+ roundedUp
        octant = (octant &+ 1) & ~1
        let y = float(octant)
        // The first two parts of π/4 have few bits: y * part is exact, so the fused form equals the plain one.
        var r = x + y * minusPiOver4A
        r = r + y * minusPiOver4B
        r = fma32(y, F8(repeating: minusPiOver4C), r)
        let z = r * r

        var c = fma32(F8(repeating: cosP.0), z, cosP.1)
        c = fma32(c, z, cosP.2)
        c = c * z
        c = fma32(c, z, -(z * 0.5))
        c = c + 1

        var s = fma32(F8(repeating: sinP.0), z, sinP.1)
        s = fma32(s, z, sinP.2)
        s = s * z
        s = fma32(s, r, r)

        let swap = 0 &- ((octant &>> 1) & 1)
        var sinValue = select(swap, c, s)
        var cosValue = select(swap, s, c)
        // Sign flips are XORs of the sign bit, as in the vector code (so +0 becomes -0).
        let sinSign = (octant & 4) &<< 29
        let cosSign = (~(octant &- 2) & 4) &<< 29
        sinValue = unsafeBitCast(unsafeBitCast(sinValue, to: I8.self) ^ sinSign, to: F8.self)
        cosValue = unsafeBitCast(unsafeBitCast(cosValue, to: I8.self) ^ cosSign, to: F8.self)
        return (sinValue, cosValue)
    }

    /// Box–Muller over one block of 16 uniforms: lanes `lo` give `u1 = 1 - lo`, lanes `hi` give `u2`;
    /// returns `(radius·cos θ, radius·sin θ)` for the low and high halves of the block.
    @inline(__always)
    static func boxMuller(lo: F8, hi: F8) -> (lo: F8, hi: F8) {
        let u1 = 1 - lo
        let radius = (-2 * log(u1)).squareRoot()
        let (sinValue, cosValue) = sincos(twoPi * hi)
        // `fma(v, std = 1, mean = 0)` turns -0 into +0 and changes nothing else.
        return (radius * cosValue + 0, radius * sinValue + 0)
    }
}
