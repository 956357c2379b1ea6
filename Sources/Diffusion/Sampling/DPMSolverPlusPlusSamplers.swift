import Foundation
import TensorCore

/// DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
/// Models"): the multistep 2M solver and the ancestral single-step 2S solver, in k-diffusion's σ form
/// (t = −log σ), float32 as ComfyUI runs them.
enum DPMSolverPlusPlusSamplers {
    /// DPM-Solver++(2M): second order from the previous denoised estimate; first order at the first and the last
    /// step (into σ = 0 the update is exactly the denoised estimate).
    static let twoM: SamplingFunction = { denoise, x, sigmas, _, callback in
        var x = x
        var previous: Tensor?
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let next = sigmas[i + 1]
            let denoised = try denoise(x, sigma)
            try callback?(i, total, x, denoised)
            let t = -Foundation.log(sigma)
            let tNext = -Foundation.log(next)
            let h = tNext - t
            let ratio = Foundation.exp(-tNext) / Foundation.exp(-t)
            let phi = Foundation.expm1(-h)
            if let old = previous, next != 0 {
                let hLast = t - (-Foundation.log(sigmas[i - 1]))
                let r = hLast / h
                let a = 1 + 1 / (2 * r)
                let b = 1 / (2 * r)
                x = LatentMath.zip(x, denoised, old) { x, d, o in
                    let mixed = a * d - b * o
                    return ratio * x - phi * mixed
                }
            } else {
                x = LatentMath.zip(x, denoised) { x, d in ratio * x - phi * d }
            }
            previous = denoised
        }
        return x
    }

    /// DPM-Solver++(2S) down to σ_down, then ancestral noise (η = 1); Euler when σ_down is 0.
    static let twoSAncestral: SamplingFunction = { denoise, x, sigmas, context, callback in
        var x = x
        var noise = context.noiseSampler(shape: x.shape)
        let total = sigmas.count - 1
        for i in 0..<Swift.max(total, 0) {
            let sigma = sigmas[i]
            let denoised = try denoise(x, sigma)
            let (down, up) = KDiffusionSamplers.ancestralStep(from: sigma, to: sigmas[i + 1])
            try callback?(i, total, x, denoised)
            if down == 0 {
                let dt = down - sigma
                x = LatentMath.zip(x, denoised) { a, b in a + ((a - b) / sigma) * dt }
            } else {
                let t = -Foundation.log(sigma)
                let tNext = -Foundation.log(down)
                let h = tNext - t
                let s = t + 0.5 * h
                let sigmaS = Foundation.exp(-s)
                let ratio1 = sigmaS / Foundation.exp(-t)
                let phi1 = Foundation.expm1(-h * 0.5)
                let x2 = LatentMath.zip(x, denoised) { x, d in ratio1 * x - phi1 * d }
                let denoised2 = try denoise(x2, sigmaS)
                let ratio2 = Foundation.exp(-tNext) / Foundation.exp(-t)
                let phi2 = Foundation.expm1(-h)
                x = LatentMath.zip(x, denoised2) { x, d in ratio2 * x - phi2 * d }
            }
            if sigmas[i + 1] > 0 {
                x = LatentMath.zip(x, noise.next()) { a, e in a + (e * 1) * up }
            }
        }
        return x
    }
}
