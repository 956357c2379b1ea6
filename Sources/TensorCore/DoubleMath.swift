/// Double-precision `log`, `sin` and `cos` for the generator's small-tensor path, in pure Swift.
///
/// Algorithms: the Sun fdlibm (1993) `log` (reduction to [√2/2, √2), s = f/(2+f), minimax polynomial in s²) and
/// `sin`/`cos` (Cody–Waite reduction by π/2 with a 33+33+53-bit split of π/2, then the fdlibm minimax kernels on
/// [-π/4, π/4] with a double-double argument). Both are accurate to below one ulp; torch calls the platform libm in
/// double and rounds the result to float32, so these agree with it except when a value sits within an ulp of a
/// float32 rounding boundary (about one value in 2^28).
enum DoubleMath {
    private static let ln2Hi = 6.93147180369123816490e-01
    private static let ln2Lo = 1.90821492927058770002e-10
    private static let lg1 = 6.666666666666735130e-01
    private static let lg2 = 3.999999999940941908e-01
    private static let lg3 = 2.857142874366239149e-01
    private static let lg4 = 2.222219843214978396e-01
    private static let lg5 = 1.818357216161805012e-01
    private static let lg6 = 1.531383769920937332e-01
    private static let lg7 = 1.479819860511658591e-01

    /// Natural logarithm of a positive, finite, normal `x`.
    static func log(_ x: Double) -> Double {
        precondition(x.isNormal && x > 0, "DoubleMath.log: argument must be positive and normal")
        var hx = UInt32(truncatingIfNeeded: x.bitPattern >> 32)
        let lx = UInt32(truncatingIfNeeded: x.bitPattern)
        var k = Int(hx >> 20) - 1023
        hx &= 0x000F_FFFF
        let i = (hx &+ 0x95F64) & 0x10_0000
        // Normalise the mantissa into [√2/2, √2).
        let m = Double(bitPattern: (UInt64(hx | (i ^ 0x3FF0_0000)) << 32) | UInt64(lx))
        k += Int(i >> 20)
        let f = m - 1.0
        let dk = Double(k)
        if (0x000F_FFFF & (2 &+ hx)) < 3 {  // |f| < 2^-20
            if f == 0 { return k == 0 ? 0 : dk * ln2Hi + dk * ln2Lo }
            let r = f * f * (0.5 - 0.33333333333333333 * f)
            return k == 0 ? f - r : dk * ln2Hi - ((r - dk * ln2Lo) - f)
        }
        let s = f / (2.0 + f)
        let z = s * s
        let w = z * z
        let t1 = w * (lg2 + w * (lg4 + w * lg6))
        let t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)))
        let r = t2 + t1
        let upper = Int32(bitPattern: hx &- 0x6147A) | Int32(bitPattern: 0x6B851 &- hx)
        if upper > 0 {
            let hfsq = 0.5 * f * f
            return k == 0 ? f - (hfsq - s * (hfsq + r)) : dk * ln2Hi - ((hfsq - (s * (hfsq + r) + dk * ln2Lo)) - f)
        }
        return k == 0 ? f - s * (f - r) : dk * ln2Hi - ((s * (f - r) - dk * ln2Lo) - f)
    }

    private static let invPiOver2 = 6.36619772367581382433e-01
    private static let piOver2Part1 = 1.57079632673412561417e+00   // first 33 bits of π/2
    private static let piOver2Part2 = 6.07710050630396597660e-11   // next 33 bits
    private static let piOver2Part2Tail = 2.02226624879595063154e-21  // π/2 - part1 - part2

    /// Sine and cosine of `x` for 0 ≤ x ≤ 8.
    static func sincos(_ x: Double) -> (sin: Double, cos: Double) {
        precondition(x >= 0 && x <= 8, "DoubleMath.sincos: argument outside [0, 8]")
        let n = Int(x * invPiOver2 + 0.5)  // nearest quadrant (x >= 0, so truncation of +0.5 rounds)
        let fn = Double(n)
        // x - fn·(part1 + part2 + tail) as a double-double (y0, y1); fn·part1 and fn·part2 are exact.
        let r = x - fn * piOver2Part1
        let t = r
        let w0 = fn * piOver2Part2
        let r2 = t - w0
        let w = fn * piOver2Part2Tail - ((t - r2) - w0)
        let y0 = r2 - w
        let y1 = (r2 - y0) - w
        let s = kernelSin(y0, y1)
        let c = kernelCos(y0, y1)
        switch n & 3 {
        case 0: return (s, c)
        case 1: return (c, -s)
        case 2: return (-s, -c)
        default: return (-c, s)
        }
    }

    private static let s1 = -1.66666666666666324348e-01
    private static let s2 = 8.33333333332248946124e-03
    private static let s3 = -1.98412698298579493134e-04
    private static let s4 = 2.75573137070700676789e-06
    private static let s5 = -2.50507602534068634195e-08
    private static let s6 = 1.58969099521155010221e-10

    /// sin(x + y) for |x + y| ≤ π/4, |y| ≤ ulp(x)/2.
    private static func kernelSin(_ x: Double, _ y: Double) -> Double {
        let z = x * x
        let w = z * z
        let r = s2 + z * (s3 + z * s4) + z * w * (s5 + z * s6)
        let v = z * x
        return x - ((z * (0.5 * y - v * r) - y) - v * s1)
    }

    private static let c1 = 4.16666666666666019037e-02
    private static let c2 = -1.38888888888741095749e-03
    private static let c3 = 2.48015872894767294178e-05
    private static let c4 = -2.75573143513906633035e-07
    private static let c5 = 2.08757232129817482790e-09
    private static let c6 = -1.13596475577881948265e-11

    /// cos(x + y) for |x + y| ≤ π/4, |y| ≤ ulp(x)/2.
    private static func kernelCos(_ x: Double, _ y: Double) -> Double {
        let z = x * x
        var w = z * z
        let r = z * (c1 + z * (c2 + z * c3)) + w * w * (c4 + z * (c5 + z * c6))
        let hz = 0.5 * z
        w = 1.0 - hz
        return w + (((1.0 - w) - hz) + (z * r - x * y))
    }
}
