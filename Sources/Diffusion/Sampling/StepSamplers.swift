import Foundation
import TensorCore

/// Samplers that step in DDPM's variance-preserving space or from the denoised estimate: DDPM ancestral steps
/// (Ho et al. 2020), LCM's denoise-then-renoise steps (Luo et al. 2023, "Latent Consistency Models") and the
/// improved pseudo-numerical Adams–Bashforth steps of iPNDM (Zhang & Chen 2023, "Fast Sampling of Diffusion
/// Models with Exponential Integrator"), float32 as ComfyUI runs them.
enum StepSamplers {
    /// DDPM's posterior-mean step with posterior-variance noise, mapped from σ-space (x/√(1+σ²)) and back.
    static let ddpm: SamplingFunction = { denoise, x, sigmas, context, callback in
        var x = x
        var noise = context.noiseSampler(shape: x.shape)
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let previous = sigmas[i + 1]
            let denoised = try denoise(x, sigma)
            try callback?(i, total, x, denoised)
            let inScale = (1 + sigma * sigma).squareRoot()
            let alphaCumprod = 1 / ((sigma * sigma) + 1)
            let alphaCumprodPrevious = 1 / ((previous * previous) + 1)
            let alpha = alphaCumprod / alphaCumprodPrevious
            let meanScale = (1 / alpha).squareRoot()
            let epsScale = 1 - alpha
            let epsDivisor = (1 - alphaCumprod).squareRoot()
            var mu = LatentMath.zip(x, denoised) { x, d in
                let eps = (x - d) / sigma
                let scaled = x / inScale
                return meanScale * (scaled - (epsScale * eps) / epsDivisor)
            }
            if previous > 0 {
                let deviation = ((1 - alpha) * (1 - alphaCumprodPrevious) / (1 - alphaCumprod)).squareRoot()
                mu = LatentMath.zip(mu, noise.next()) { m, e in m + deviation * e }
            }
            if previous != 0 {
                let outScale = (1 + previous * previous).squareRoot()
                mu = LatentMath.map(mu) { $0 * outScale }
            }
            x = mu
        }
        return x
    }

    /// Each step jumps to the denoised estimate and, unless it is the last, re-noises it to the next σ with fresh
    /// noise (`noise_scaling` without max-denoise).
    static let lcm: SamplingFunction = { denoise, x, sigmas, context, callback in
        var x = x
        var noise = context.noiseSampler(shape: x.shape)
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let denoised = try denoise(x, sigmas[i])
            try callback?(i, total, x, denoised)
            x = denoised
            let next = sigmas[i + 1]
            if next > 0 {
                let n = Tensor(shape: x.shape, scalars: noise.next())
                x = context.modelSampling.noiseScaling(sigma: next, noise: n, latent: x, maxDenoise: false)
            }
        }
        return x
    }

    /// iPNDM: Adams–Bashforth steps of order up to 4 on dx/dσ with the history of derivatives; the step into
    /// σ = 0 is the denoised estimate.
    static let ipndm: SamplingFunction = { denoise, x, sigmas, _, callback in
        let maxOrder = 4
        var x = x
        var history: [Tensor] = []
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let current = sigmas[i]
            let next = sigmas[i + 1]
            let denoised = try denoise(x, current)
            try callback?(i, total, x, denoised)
            let d = LatentMath.zip(x, denoised) { ($0 - $1) / current }
            let order = Swift.min(maxOrder, i + 1)
            let dt = next - current
            if next == 0 {
                x = denoised
            } else if order == 1 {
                x = LatentMath.zip(x, d) { $0 + dt * $1 }
            } else if order == 2 {
                x = LatentMath.zip(x, d, history[history.count - 1]) { x, d, p in x + dt * ((3 * d - p) / 2) }
            } else if order == 3 {
                x = LatentMath.zip(x, d, history[history.count - 1], history[history.count - 2]) { x, d, p1, p2 in
                    x + dt * ((23 * d - 16 * p1 + 5 * p2) / 12)
                }
            } else {
                let p3 = history[history.count - 3]
                let combined = LatentMath.zip(d, history[history.count - 1], history[history.count - 2], p3) {
                    d, p1, p2, p3 in 55 * d - 59 * p1 + 37 * p2 - 9 * p3
                }
                x = LatentMath.zip(x, combined) { x, c in x + dt * (c / 24) }
            }
            history.append(d)
            if history.count > maxOrder - 1 { history.removeFirst() }
        }
        return x
    }
}
