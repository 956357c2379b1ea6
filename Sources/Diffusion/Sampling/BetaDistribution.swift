import Foundation

/// The beta distribution's CDF (the regularised incomplete beta function I_x(a, b)) and its inverse, in float64,
/// for ComfyUI's `beta` scheduler (which calls `scipy.stats.beta.ppf`).
///
/// I_x(a, b) is evaluated with the continued fraction of Didonato & Morris's DLA form as given in Numerical Recipes
/// §6.4 (modified Lentz's method), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges
/// slowly. The inverse bisects the monotone CDF down to adjacent doubles, so it is as accurate as the CDF itself.
enum BetaDistribution {
    /// I_x(a, b) for 0 ≤ x ≤ 1, a, b > 0.
    static func cdf(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a, b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, b, a) / b
    }

    /// The x with I_x(a, b) = p (`scipy.stats.beta.ppf(p, a, b)`), 0 ≤ p ≤ 1.
    static func quantile(_ p: Double, _ a: Double, _ b: Double) -> Double {
        if p.isNaN { return .nan }
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        // A symmetric distribution's median is exactly 1/2 (the fraction's last-bit error would otherwise decide
        // which side of 0.5 the bisection ends on, and the beta scheduler rounds 999·x there).
        if a == b && p == 0.5 { return 0.5 }
        var low = 0.0
        var high = 1.0
        for _ in 0..<2000 {
            let mid = low + (high - low) / 2
            if mid <= low || mid >= high { break }
            if cdf(mid, a, b) < p { low = mid } else { high = mid }
        }
        // The double nearer the target.
        return Swift.abs(cdf(low, a, b) - p) <= Swift.abs(cdf(high, a, b) - p) ? low : high
    }

    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        let qab = a + b
        let qap = a + 1
        let qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if Swift.abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if Swift.abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if Swift.abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if Swift.abs(delta - 1) < 1e-16 { break }
        }
        return h
    }
}
