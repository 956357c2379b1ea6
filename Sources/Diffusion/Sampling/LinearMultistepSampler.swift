import TensorCore

/// k-diffusion's linear multistep sampler (`lms`, order 4): each step integrates the Lagrange polynomial through the
/// last derivatives over [σ_i, σ_{i+1}] (Adams–Bashforth with variable steps); the step into σ = 0 is the
/// denoised estimate.
///
/// k-diffusion integrates the polynomial with `scipy.integrate.quad`; the integrand is a polynomial of degree ≤ 3,
/// which the 5-point Gauss–Legendre rule used here integrates exactly, so the coefficients agree to float64
/// rounding (the sigmas are taken as float32 values, as k-diffusion's NumPy copy holds them).
enum LinearMultistepSampler {
    static let order = 4

    static let sample: SamplingFunction = { denoise, x, sigmas, _, callback in
        var x = x
        var derivatives: [Tensor] = []
        let total = sigmas.count - 1
        let t = sigmas.map(Double.init)
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let denoised = try denoise(x, sigma)
            derivatives.append(KDiffusionSamplers.toD(x, sigma, denoised))
            if derivatives.count > order { derivatives.removeFirst() }
            try callback?(i, total, x, denoised)
            if sigmas[i + 1] == 0 {
                x = denoised
            } else {
                let currentOrder = Swift.min(i + 1, order)
                let coefficients = (0..<currentOrder).map { Float(coefficient(order: currentOrder, t, i, $0)) }
                // Python's sum over zip(coeffs, reversed(ds)): 0 + c0·d_newest + c1·d_older + …
                var sum: Tensor?
                for (j, c) in coefficients.enumerated() {
                    let d = derivatives[derivatives.count - 1 - j]
                    if let partial = sum {
                        sum = LatentMath.zip(partial, d) { $0 + c * $1 }
                    } else {
                        sum = LatentMath.map(d) { 0 + c * $0 }
                    }
                }
                x = LatentMath.zip(x, sum!) { $0 + $1 }
            }
        }
        return x
    }

    /// ∫_{t_i}^{t_{i+1}} ∏_{k≠j} (τ − t_{i−k})/(t_{i−j} − t_{i−k}) dτ.
    static func coefficient(order: Int, _ t: [Double], _ i: Int, _ j: Int) -> Double {
        func basis(_ tau: Double) -> Double {
            var product = 1.0
            for k in 0..<order where k != j {
                product *= (tau - t[i - k]) / (t[i - j] - t[i - k])
            }
            return product
        }
        let a = t[i]
        let b = t[i + 1]
        let half = (b - a) / 2
        let middle = (a + b) / 2
        var sum = 0.0
        for (node, weight) in gaussLegendre5 {
            sum += weight * basis(middle + half * node)
        }
        return sum * half
    }

    /// Nodes and weights of the 5-point Gauss–Legendre rule on [−1, 1].
    static let gaussLegendre5: [(Double, Double)] = [
        (0, 128.0 / 225),
        (-0.538469310105683091036314420700, 0.478628670499366468041291514836),
        (0.538469310105683091036314420700, 0.478628670499366468041291514836),
        (-0.906179845938663992797626878299, 0.236926885056189087514264040720),
        (0.906179845938663992797626878299, 0.236926885056189087514264040720),
    ]
}
