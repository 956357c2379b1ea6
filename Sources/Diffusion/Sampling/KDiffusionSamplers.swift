import Foundation
import TensorCore

/// The Euler-family samplers of k-diffusion (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based
/// Generative Models", Algorithms 1 and 2, and Crowson's ancestral variants), with ComfyUI 0.3.64's defaults
/// (no churn, η = 1, s_noise = 1) and its last-step special cases.
///
/// All arithmetic is float32 in torch's order of operations: scalar coefficients are float32 values (0-d tensors
/// in torch, computed with the C library's `logf`/`expf` as torch's scalar path does), latents are updated one
/// elementwise op at a time.
enum KDiffusionSamplers {
    /// Euler steps on the probability-flow ODE dx/dσ = (x − D(x; σ))/σ. ComfyUI's `ddim` runs this too.
    static let euler: SamplingFunction = { denoise, x, sigmas, _, callback in
        var x = x
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let denoised = try denoise(x, sigma)
            let dt = sigmas[i + 1] - sigma
            let next = LatentMath.zip(x, denoised) { a, b in
                let d = (a - b) / sigma
                return a + d * dt
            }
            try callback?(i, total, x, denoised)
            x = next
        }
        return x
    }

    /// Euler steps down to σ_down, then fresh noise scaled to σ_up (η = 1).
    static let eulerAncestral: SamplingFunction = { denoise, x, sigmas, context, callback in
        var x = x
        var noise = context.noiseSampler(shape: x.shape)
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let denoised = try denoise(x, sigma)
            let (down, up) = ancestralStep(from: sigma, to: sigmas[i + 1])
            try callback?(i, total, x, denoised)
            if down == 0 {
                x = denoised
            } else {
                let dt = down - sigma
                let n = noise.next()
                x = LatentMath.zip(LatentMath.zip(x, denoised) { a, b in a + ((a - b) / sigma) * dt }, n) { a, e in
                    a + (e * 1) * up
                }
            }
        }
        return x
    }

    /// Heun's second-order method; the last step into σ = 0 is an Euler step.
    static let heun: SamplingFunction = { denoise, x, sigmas, _, callback in
        var x = x
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let next = sigmas[i + 1]
            let denoised = try denoise(x, sigma)
            let d = toD(x, sigma, denoised)
            try callback?(i, total, x, denoised)
            let dt = next - sigma
            if next == 0 {
                x = LatentMath.zip(x, d) { $0 + $1 * dt }
            } else {
                let x2 = LatentMath.zip(x, d) { $0 + $1 * dt }
                let denoised2 = try denoise(x2, next)
                let d2 = toD(x2, next, denoised2)
                x = LatentMath.zip(x, d, d2) { a, d, d2 in a + ((d + d2) / 2) * dt }
            }
        }
        return x
    }

    /// Heun++ (from Carzit's sd-webui-samplers-scheduler): Euler at the last step, a weighted Heun step before it,
    /// and a three-evaluation weighted step elsewhere.
    static let heunpp2: SamplingFunction = { denoise, x, sigmas, _, callback in
        var x = x
        let total = sigmas.count - 1
        guard total > 0 else { return x }
        let end = sigmas[total]
        for i in 0..<total {
            let sigma = sigmas[i]
            let next = sigmas[i + 1]
            let denoised = try denoise(x, sigma)
            let d = toD(x, sigma, denoised)
            try callback?(i, total, x, denoised)
            let dt = next - sigma
            if next == end {
                x = LatentMath.zip(x, d) { $0 + $1 * dt }
            } else if sigmas[i + 2] == end {
                let x2 = LatentMath.zip(x, d) { $0 + $1 * dt }
                let denoised2 = try denoise(x2, next)
                let d2 = toD(x2, next, denoised2)
                let w = 2 * sigmas[0]
                let w2 = next / w
                let w1 = 1 - w2
                x = LatentMath.zip(x, d, d2) { a, d, d2 in a + (d * w1 + d2 * w2) * dt }
            } else {
                let x2 = LatentMath.zip(x, d) { $0 + $1 * dt }
                let denoised2 = try denoise(x2, next)
                let d2 = toD(x2, next, denoised2)
                let after = sigmas[i + 2]
                let dt2 = after - next
                let x3 = LatentMath.zip(x2, d2) { $0 + $1 * dt2 }
                let denoised3 = try denoise(x3, after)
                let d3 = toD(x3, after, denoised3)
                let w = 3 * sigmas[0]
                let w2 = next / w
                let w3 = after / w
                let w1 = 1 - w2 - w3
                let prime = LatentMath.zip(d, d2, d3) { d, d2, d3 in w1 * d + w2 * d2 + w3 * d3 }
                x = LatentMath.zip(x, prime) { $0 + $1 * dt }
            }
        }
        return x
    }

    /// DPM-Solver-2 inspired midpoint steps (the midpoint geometric in σ); Euler into σ = 0.
    static let dpm2: SamplingFunction = { denoise, x, sigmas, _, callback in
        var x = x
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let next = sigmas[i + 1]
            let denoised = try denoise(x, sigma)
            let d = toD(x, sigma, denoised)
            try callback?(i, total, x, denoised)
            if next == 0 {
                let dt = next - sigma
                x = LatentMath.zip(x, d) { $0 + $1 * dt }
            } else {
                x = try midpointStep(denoise, x, d, from: sigma, to: next)
            }
        }
        return x
    }

    /// ``dpm2`` down to σ_down, then ancestral noise.
    static let dpm2Ancestral: SamplingFunction = { denoise, x, sigmas, context, callback in
        var x = x
        var noise = context.noiseSampler(shape: x.shape)
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let denoised = try denoise(x, sigma)
            let (down, up) = ancestralStep(from: sigma, to: sigmas[i + 1])
            try callback?(i, total, x, denoised)
            let d = toD(x, sigma, denoised)
            if down == 0 {
                let dt = down - sigma
                x = LatentMath.zip(x, d) { $0 + $1 * dt }
            } else {
                x = try midpointStep(denoise, x, d, from: sigma, to: down)
                x = LatentMath.zip(x, noise.next()) { a, e in a + (e * 1) * up }
            }
        }
        return x
    }

    /// One DPM-Solver-2 step from σ to `target` given the derivative `d` at σ.
    private static func midpointStep(_ denoise: DenoiseFunction, _ x: Tensor, _ d: Tensor, from sigma: Float,
                                     to target: Float) throws -> Tensor {
        let mid = Foundation.exp(lerpHalf(Foundation.log(sigma), Foundation.log(target)))
        let dt1 = mid - sigma
        let dt2 = target - sigma
        let x2 = LatentMath.zip(x, d) { $0 + $1 * dt1 }
        let denoised2 = try denoise(x2, mid)
        let d2 = toD(x2, mid, denoised2)
        return LatentMath.zip(x, d2) { $0 + $1 * dt2 }
    }

    /// torch's `lerp(a, b, 0.5)` (weight not below 0.5: `b − (b − a)·(1 − w)`).
    static func lerpHalf(_ a: Float, _ b: Float) -> Float { b - (b - a) * 0.5 }

    /// k-diffusion's `to_d`: (x − denoised)/σ.
    static func toD(_ x: Tensor, _ sigma: Float, _ denoised: Tensor) -> Tensor {
        LatentMath.zip(x, denoised) { ($0 - $1) / sigma }
    }

    /// k-diffusion's `get_ancestral_step`: the σ to step down to and the noise to add so that the marginal at
    /// `to` is preserved, in float32.
    static func ancestralStep(from: Float, to: Float, eta: Float = 1) -> (down: Float, up: Float) {
        if eta == 0 { return (to, 0) }
        let to2 = to * to
        let from2 = from * from
        let candidate = eta * ((to2 * (from2 - to2)) / from2).squareRoot()
        let up = candidate < to ? candidate : to
        let down = (to2 - up * up).squareRoot()
        return (down, up)
    }
}
