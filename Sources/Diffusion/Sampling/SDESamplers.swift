import Foundation
import TensorCore

// ComfyUI's stochastic DPM-Solver++ samplers (0.3.64, `comfy/k_diffusion/sampling.py`) for eps-prediction models
// (half-log-SNR λ = −log σ), with Brownian-tree noise (``BrownianTreeNoiseSampler``).
//
// Every scalar is a float32 as in ComfyUI, where the sigmas are float32 tensors and each scalar expression is a
// chain of 0-d tensor ops: Python-float constants are rounded to float32 first and each operation rounds, in the
// order written here. Latent arithmetic is elementwise float32 in torch's order (scalar coefficients are
// computed first, then applied per element). torch evaluates `exp`, `log`, `expm1` and `sqrt` on the CPU with its
// vector math library, which is not correctly rounded, so trajectories agree with ComfyUI to float32 rounding
// rather than bit for bit; the Brownian increments themselves are bit-exact for given sigmas.

/// The second-order correction of ``sampleDPMPP2MSDE(denoise:x:sigmas:seed:eta:sNoise:solverType:kernel:callback:)``.
public enum DPMSolverSDEType: String, Sendable, CaseIterable {
    case midpoint
    case heun
}

/// `sample_dpmpp_sde` (DPM-Solver++ SDE, two model calls per step; also `dpmpp_sde_gpu`).
///
/// - Parameters:
///   - denoise: the model: `(x, sigma)` → denoised, same shape as `x`.
///   - x: the initial latent (noise already scaled to `sigmas[0]`).
///   - sigmas: the schedule, descending, ending in 0 for a full denoise.
///   - seed: the KSampler seed (the Brownian tree's entropy).
///   - eta: stochasticity (0 makes the sampler deterministic).
///   - sNoise: noise multiplier.
///   - r: position of the intermediate point in λ (0.5: midpoint).
///   - kernel: torch's CPU `randn` kernel to reproduce.
///   - callback: called before each step's update with (step, step count, x, denoised).
/// - Returns: the sampled latent.
public func sampleDPMPPSDE(
    denoise: (Tensor, Float) throws -> Tensor, x: Tensor, sigmas: [Float], seed: UInt64, eta: Float = 1,
    sNoise: Float = 1, r: Float = 0.5, kernel: TorchGenerator.Kernel = .avx2,
    callback: ((Int, Int, Tensor, Tensor) throws -> Void)? = nil
) throws -> Tensor {
    guard sigmas.count > 1 else { return x }
    var noiseSampler = BrownianTreeNoiseSampler(sigmas: sigmas, shape: x.shape, seed: seed, kernel: kernel)
    let steps = sigmas.count - 1
    let fac = 1 / (2 * Double(r))
    var x = x
    for i in 0..<steps {
        let sigma = sigmas[i], sigmaNext = sigmas[i + 1]
        let denoised = try denoise(x, sigma)
        try callback?(i, steps, x, denoised)
        if sigmaNext == 0 {
            x = denoised
            continue
        }
        let lambdaS = -log(sigma), lambdaT = -log(sigmaNext)
        let h = lambdaT - lambdaS
        let lambdaS1 = lambdaS + h * r
        let sigmaS1 = exp(-lambdaS1)
        let alphaS = sigma * exp(lambdaS)
        let alphaS1 = sigmaS1 * exp(lambdaS1)
        let alphaT = sigmaNext * exp(lambdaT)

        // Step 1: to the intermediate point.
        var (down, up) = KDiffusionSamplers.ancestralStep(from: exp(-lambdaS), to: exp(-lambdaS1), eta: eta)
        var hPrime = -log(down) - lambdaS
        var c1 = (alphaS1 / alphaS) * exp(-hPrime), c2 = alphaS1 * expm1(-hPrime)
        var x2 = LatentMath.zip(x, denoised) { xv, dv in c1 * xv - c2 * dv }
        if eta > 0 && sNoise > 0 {
            let noise = noiseSampler!(sigma, sigmaS1)
            x2 = LatentMath.zip(x2, noise) { xv, nv in xv + ((alphaS1 * nv) * sNoise) * up }
        }
        let denoised2 = try denoise(x2, sigmaS1)

        // Step 2: to the next sigma, with the two denoised estimates combined.
        (down, up) = KDiffusionSamplers.ancestralStep(from: exp(-lambdaS), to: exp(-lambdaT), eta: eta)
        hPrime = -log(down) - lambdaS
        let keep = Float(1 - fac), take = Float(fac)
        let denoisedD = LatentMath.zip(denoised, denoised2) { a, b in keep * a + take * b }
        c1 = (alphaT / alphaS) * exp(-hPrime)
        c2 = alphaT * expm1(-hPrime)
        x = LatentMath.zip(x, denoisedD) { xv, dv in c1 * xv - c2 * dv }
        if eta > 0 && sNoise > 0 {
            let noise = noiseSampler!(sigma, sigmaNext)
            x = LatentMath.zip(x, noise) { xv, nv in xv + ((alphaT * nv) * sNoise) * up }
        }
    }
    return x
}

/// `sample_dpmpp_2m_sde` (DPM-Solver++(2M) SDE; `dpmpp_2m_sde_gpu`, and with `.heun` `dpmpp_2m_sde_heun[_gpu]`).
///
/// Parameters as ``sampleDPMPPSDE(denoise:x:sigmas:seed:eta:sNoise:r:kernel:callback:)``; `solverType` picks the
/// second-order correction (ComfyUI's default is midpoint).
public func sampleDPMPP2MSDE(
    denoise: (Tensor, Float) throws -> Tensor, x: Tensor, sigmas: [Float], seed: UInt64, eta: Float = 1,
    sNoise: Float = 1, solverType: DPMSolverSDEType = .midpoint, kernel: TorchGenerator.Kernel = .avx2,
    callback: ((Int, Int, Tensor, Tensor) throws -> Void)? = nil
) throws -> Tensor {
    guard sigmas.count > 1 else { return x }
    var noiseSampler = BrownianTreeNoiseSampler(sigmas: sigmas, shape: x.shape, seed: seed, kernel: kernel)
    let steps = sigmas.count - 1
    var x = x
    var oldDenoised: Tensor?
    var h: Float?, hLast: Float?
    for i in 0..<steps {
        let sigma = sigmas[i], sigmaNext = sigmas[i + 1]
        let denoised = try denoise(x, sigma)
        try callback?(i, steps, x, denoised)
        if sigmaNext == 0 {
            x = denoised
        } else {
            let lambdaS = -log(sigma), lambdaT = -log(sigmaNext)
            let step = lambdaT - lambdaS
            h = step
            let hEta = step * (eta + 1)
            let alphaT = sigmaNext * exp(lambdaT)
            let c1 = (sigmaNext / sigma) * exp(-step * eta)
            let c2 = alphaT * -expm1(-hEta)
            x = LatentMath.zip(x, denoised) { xv, dv in c1 * xv + c2 * dv }
            if let old = oldDenoised, let hLast {
                let ratio = hLast / step
                let c3: Float
                switch solverType {
                case .heun: c3 = (alphaT * (-expm1(-hEta) / -hEta + 1)) * (1 / ratio)
                case .midpoint: c3 = ((0.5 * alphaT) * -expm1(-hEta)) * (1 / ratio)
                }
                x = LatentMath.zip(x, denoised, old) { xv, dv, ov in xv + c3 * (dv - ov) }
            }
            if eta > 0 && sNoise > 0 {
                let noise = noiseSampler!(sigma, sigmaNext)
                let k = (-expm1((-2 * step) * eta)).squareRoot()
                x = LatentMath.zip(x, noise) { xv, nv in xv + ((nv * sigmaNext) * k) * sNoise }
            }
        }
        oldDenoised = denoised
        hLast = h
    }
    return x
}

/// `sample_dpmpp_3m_sde` (DPM-Solver++(3M) SDE; also `dpmpp_3m_sde_gpu`).
///
/// Parameters as ``sampleDPMPPSDE(denoise:x:sigmas:seed:eta:sNoise:r:kernel:callback:)``.
public func sampleDPMPP3MSDE(
    denoise: (Tensor, Float) throws -> Tensor, x: Tensor, sigmas: [Float], seed: UInt64, eta: Float = 1,
    sNoise: Float = 1, kernel: TorchGenerator.Kernel = .avx2,
    callback: ((Int, Int, Tensor, Tensor) throws -> Void)? = nil
) throws -> Tensor {
    guard sigmas.count > 1 else { return x }
    var noiseSampler = BrownianTreeNoiseSampler(sigmas: sigmas, shape: x.shape, seed: seed, kernel: kernel)
    let steps = sigmas.count - 1
    var x = x
    var denoised1: Tensor?, denoised2: Tensor?
    var h: Float?, h1: Float?, h2: Float?
    for i in 0..<steps {
        let sigma = sigmas[i], sigmaNext = sigmas[i + 1]
        let denoised = try denoise(x, sigma)
        try callback?(i, steps, x, denoised)
        if sigmaNext == 0 {
            x = denoised
        } else {
            let lambdaS = -log(sigma), lambdaT = -log(sigmaNext)
            let step = lambdaT - lambdaS
            h = step
            let hEta = step * (eta + 1)
            let alphaT = sigmaNext * exp(lambdaT)
            let c1 = (sigmaNext / sigma) * exp(-step * eta)
            let c2 = alphaT * -expm1(-hEta)
            x = LatentMath.zip(x, denoised) { xv, dv in c1 * xv + c2 * dv }
            if let h1, let h2, let d1Prev = denoised1, let d2Prev = denoised2 {
                // Third order from the last two steps.
                let r0 = h1 / step, r1 = h2 / step
                let rSum = r0 + r1
                let phi2 = expm1(-hEta) / hEta + 1
                let phi3 = phi2 / hEta - 0.5
                let k1 = alphaT * phi2, k2 = alphaT * phi3
                x = LatentMath.zip(x, denoised, d1Prev, d2Prev) { xv, dv, d1v, d2v in
                    let d10 = (dv - d1v) / r0
                    let d11 = (d1v - d2v) / r1
                    let d1 = d10 + ((d10 - d11) * r0) / rSum
                    let d2 = (d10 - d11) / rSum
                    return (xv + k1 * d1) - k2 * d2
                }
            } else if let h1, let d1Prev = denoised1 {
                // Second order from the last step.
                let ratio = h1 / step
                let phi2 = expm1(-hEta) / hEta + 1
                let k = alphaT * phi2
                x = LatentMath.zip(x, denoised, d1Prev) { xv, dv, d1v in xv + k * ((dv - d1v) / ratio) }
            }
            if eta > 0 && sNoise > 0 {
                let noise = noiseSampler!(sigma, sigmaNext)
                let k = (-expm1((-2 * step) * eta)).squareRoot()
                x = LatentMath.zip(x, noise) { xv, nv in xv + ((nv * sigmaNext) * k) * sNoise }
            }
        }
        denoised2 = denoised1
        denoised1 = denoised
        h2 = h1
        h1 = h
    }
    return x
}

