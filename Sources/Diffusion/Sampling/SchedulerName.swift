import Foundation

/// ComfyUI's sigma schedulers, in the order of its `SCHEDULER_NAMES` (the KSampler node's `scheduler` combo).
public enum SchedulerName: String, CaseIterable, Sendable {
    case simple
    case sgmUniform = "sgm_uniform"
    case karras
    case exponential
    case ddimUniform = "ddim_uniform"
    case beta
    case normal
    case linearQuadratic = "linear_quadratic"
    case klOptimal = "kl_optimal"

    /// The schedule for `steps` sampling steps: `steps + 1` decreasing sigmas ending in 0 (ComfyUI's
    /// `calculate_sigmas(model_sampling, scheduler, steps)`). A few schedulers return another count for corner
    /// cases exactly as ComfyUI does (`ddim_uniform` when 1000 is not a multiple of `steps`, `beta` when two
    /// quantiles round to the same timestep).
    public func sigmas(_ sampling: ModelSampling, steps: Int) -> [Float] {
        precondition(steps >= 0, "scheduler: negative steps")
        switch self {
        case .simple: return Schedules.simple(sampling, steps: steps)
        case .sgmUniform: return Schedules.normal(sampling, steps: steps, sgm: true)
        case .karras:
            return Schedules.karras(steps, sigmaMin: Double(sampling.sigmaMin), sigmaMax: Double(sampling.sigmaMax))
        case .exponential:
            return Schedules.exponential(steps, sigmaMin: Double(sampling.sigmaMin), sigmaMax: Double(sampling.sigmaMax))
        case .ddimUniform: return Schedules.ddimUniform(sampling, steps: steps)
        case .beta: return Schedules.beta(sampling, steps: steps)
        case .normal: return Schedules.normal(sampling, steps: steps, sgm: false)
        case .linearQuadratic: return Schedules.linearQuadratic(sampling, steps: steps)
        case .klOptimal:
            return Schedules.klOptimal(steps, sigmaMin: Double(sampling.sigmaMin), sigmaMax: Double(sampling.sigmaMax))
        }
    }
}

/// The schedules behind ``SchedulerName``, each in the float32/float64 steps ComfyUI takes.
enum Schedules {
    /// Every `1000/steps`-th model sigma from the top.
    static func simple(_ s: ModelSampling, steps: Int) -> [Float] {
        guard steps > 0 else { return [0] }
        let count = s.sigmas.count
        let stride = Double(count) / Double(steps)
        var out: [Float] = []
        for x in 0..<steps { out.append(s.sigmas[count - 1 - Int(Double(x) * stride)]) }
        return out + [0]
    }

    /// Timesteps spaced evenly from σ_max's to σ_min's (interpolated in log σ); `sgm` drops the end point of
    /// `steps + 1` instead (SGM/SDXL-turbo spacing).
    static func normal(_ s: ModelSampling, steps: Int, sgm: Bool) -> [Float] {
        let start = s.timestep(s.sigmaMax)
        let end = s.timestep(s.sigmaMin)
        var steps = steps
        var appendZero = true
        let timesteps: [Float]
        if sgm {
            timesteps = Array(TorchLinspace.float32(start, end, steps + 1).dropLast())
        } else {
            if Swift.abs(s.sigma(timestep: end)) <= 1e-5 {
                steps += 1
                appendZero = false
            }
            timesteps = TorchLinspace.float32(start, end, steps)
        }
        let out = timesteps.map { s.sigma(timestep: $0) }
        return appendZero ? out + [0] : out
    }

    /// Karras et al. (2022), "Elucidating the Design Space of Diffusion-Based Generative Models", eq. 5 (ρ = 7).
    static func karras(_ n: Int, sigmaMin: Double, sigmaMax: Double, rho: Double = 7) -> [Float] {
        let ramp = TorchLinspace.float32(0, 1, n)
        let minInv = Foundation.pow(sigmaMin, 1 / rho)
        let maxInv = Foundation.pow(sigmaMax, 1 / rho)
        let span = Float(minInv - maxInv)
        let top = Float(maxInv)
        return ramp.map { Foundation.pow(top + $0 * span, Float(rho)) } + [0]
    }

    /// Sigmas evenly spaced in log σ.
    static func exponential(_ n: Int, sigmaMin: Double, sigmaMax: Double) -> [Float] {
        TorchLinspace.float32(Float(Foundation.log(sigmaMax)), Float(Foundation.log(sigmaMin)), n)
            .map { Foundation.exp($0) } + [0]
    }

    /// DDIM's uniform timestep skipping: every `1000 / steps`-th sigma from index 1 up.
    static func ddimUniform(_ s: ModelSampling, steps: Int) -> [Float] {
        var steps = steps
        var out: [Float]
        if Swift.abs(s.sigmas[1]) <= 1e-5 {
            steps += 1
            out = []
        } else {
            out = [0]
        }
        let stride = Swift.max(s.sigmas.count / Swift.max(steps, 1), 1)
        var x = 1
        while x < s.sigmas.count {
            out.append(s.sigmas[x])
            x += stride
        }
        return out.reversed()
    }

    /// Lee et al. (2024), "Beta Sampling is All You Need" (arXiv 2407.12173): timesteps at the quantiles of a
    /// Beta(α, β) distribution, rounded to integers, repeated timesteps dropped.
    static func beta(_ s: ModelSampling, steps: Int, alpha: Double = 0.6, beta: Double = 0.6) -> [Float] {
        let total = Double(s.sigmas.count - 1)
        var out: [Float] = []
        var last = -1.0
        for i in 0..<steps {
            let p = 1 - Double(i) * (1 / Double(steps))
            let t = (BetaDistribution.quantile(p, alpha, beta) * total).rounded(.toNearestOrEven)
            if t != last { out.append(s.sigmas[Int(t)]) }
            last = t
        }
        return out + [0]
    }

    /// Mochi's schedule: linear in (1 − σ/σ_max) for the first half of the steps, quadratic for the rest.
    static func linearQuadratic(_ s: ModelSampling, steps: Int, thresholdNoise: Double = 0.025) -> [Float] {
        var schedule: [Double]
        if steps == 1 {
            schedule = [1, 0]
        } else {
            let linearSteps = steps / 2
            var values = (0..<linearSteps).map { Double($0) * thresholdNoise / Double(linearSteps) }
            let stepDiff = Double(linearSteps) - thresholdNoise * Double(steps)
            let quadraticSteps = steps - linearSteps
            let q2 = Double(quadraticSteps * quadraticSteps)
            let quadraticCoef = stepDiff / (Double(linearSteps) * q2)
            let linearCoef = thresholdNoise / Double(linearSteps) - 2 * stepDiff / q2
            let constant = quadraticCoef * Double(linearSteps * linearSteps)
            for i in linearSteps..<steps {
                values.append(quadraticCoef * Double(i * i) + linearCoef * Double(i) + constant)
            }
            values.append(1)
            schedule = values.map { 1 - $0 }
        }
        return schedule.map { Float($0) * s.sigmaMax }
    }

    /// The KL-optimal schedule (Sabour et al. 2024, "Align Your Steps"): linear in arctan σ. With one step the
    /// interpolation divides 0 by 0 and the first sigma is NaN, as in ComfyUI.
    static func klOptimal(_ n: Int, sigmaMin: Double, sigmaMax: Double) -> [Float] {
        let atanMin = Float(Foundation.atan(sigmaMin))
        let atanMax = Float(Foundation.atan(sigmaMax))
        let denominator = Float(n - 1)
        var out: [Float] = (0..<n).map { i in
            let w = Float(i) / denominator
            return Foundation.tan(w * atanMin + (1 - w) * atanMax)
        }
        out.append(0)
        return out
    }
}
