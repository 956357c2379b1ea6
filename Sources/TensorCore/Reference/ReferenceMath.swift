/// Double-precision `exp`, `expm1`, `tanh`, the logistic function and `erfc` in pure Swift for ``ReferenceBackend``
/// (TensorCore imports no C library).
///
/// Algorithms: `exp` by Cody–Waite reduction `x = k·ln2 + r` (|r| ≤ ln2/2) and a degree-16 Taylor polynomial in `r`;
/// `erfc` by the Maclaurin series of `erf` for |x| < 1.5 and Laplace's continued fraction beyond (Abramowitz & Stegun
/// 7.1.5 and 7.1.14). All are accurate to about 1e-14 relative (`erfc` in relative terms too), far below float32
/// rounding, which is all a reference that rounds its results to float32 needs.
enum ReferenceMath {
    private static let ln2Hi = 6.93147180369123816490e-01
    private static let ln2Lo = 1.90821492927058770002e-10
    private static let log2e = 1.44269504088896338700e+00

    /// `e^x`.
    static func exp(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x > 709.78 { return .infinity }
        if x < -745.2 { return 0 }
        let k = (x * log2e).rounded()
        let r = (x - k * ln2Hi) - k * ln2Lo
        var term = 1.0, sum = 1.0
        for n in 1...16 {
            term *= r / Double(n)
            sum += term
        }
        return Double(sign: .plus, exponent: Int(k), significand: sum)
    }

    /// `e^x - 1`, accurate near 0.
    static func expm1(_ x: Double) -> Double {
        guard abs(x) < 0.5 else { return exp(x) - 1 }
        var term = x, sum = x
        for n in 2...20 {
            term *= x / Double(n)
            sum += term
        }
        return sum
    }

    /// Hyperbolic tangent.
    static func tanh(_ x: Double) -> Double {
        if x.isNaN { return x }
        if abs(x) > 22 { return x > 0 ? 1 : -1 }
        let e = expm1(2 * abs(x))
        let t = e / (e + 2)
        return x < 0 ? -t : t
    }

    /// The logistic function `1 / (1 + e^-x)`.
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// The complementary error function `1 - erf(x)`, accurate in relative terms for large `x` too.
    static func erfc(_ x: Double) -> Double {
        if x.isNaN { return x }
        let a = abs(x)
        let tail = a < 1.5 ? 1 - erfSeries(a) : erfcFraction(a)
        return x < 0 ? 2 - tail : tail
    }

    /// `erf(a)` for `0 ≤ a < 1.5`: `2/√π · Σ (-1)^n a^(2n+1) / (n! (2n+1))`.
    private static func erfSeries(_ a: Double) -> Double {
        var power = a, sum = a, n = 0.0
        let a2 = a * a
        repeat {
            n += 1
            power *= -a2 / n
            let term = power / (2 * n + 1)
            sum += term
            if abs(term) < 1e-17 * abs(sum) { break }
        } while n < 200
        return sum * 1.12837916709551257390  // 2/√π
    }

    /// `erfc(a)` for `a ≥ 1.5`: `e^(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …))))`, 200 terms.
    private static func erfcFraction(_ a: Double) -> Double {
        if a > 27 { return 0 }
        var fraction = a
        for k in stride(from: 200, through: 1, by: -1) { fraction = a + Double(k) / 2 / fraction }
        return exp(-a * a) / fraction * 0.56418958354775628695  // 1/√π
    }
}
