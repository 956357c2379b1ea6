import Foundation
import TensorCore

/// DPM-Solver (Lu et al. 2022, "DPM-Solver: A Fast ODE Solver for Diffusion Probabilistic Model Sampling in Around
/// 10 Steps") as k-diffusion's `DPMSolver`, in t = −log σ: `dpm_fast` (fixed orders 3,3,…,2/1 with the NFE budget of
/// the schedule) and `dpm_adaptive` (embedded 2/3 pair with PID step-size control, Gustafsson/Söderlind).
///
/// ComfyUI passes σ_max = sigmas[0] and σ_min = the last positive sigma; only the endpoints of the schedule matter.
/// η = 0 (no ancestral noise) as the KSampler node runs them.
enum DPMSolverSampler {
    static let fast: SamplingFunction = { denoise, x, sigmas, _, callback in
        try withoutActuallyEscaping(denoise) { try runFast($0, x, sigmas, callback) }
    }

    static let adaptive: SamplingFunction = { denoise, x, sigmas, _, callback in
        try withoutActuallyEscaping(denoise) { try runAdaptive($0, x, sigmas, callback) }
    }

    private static func runFast(_ denoise: @escaping DenoiseFunction, _ x: Tensor, _ sigmas: [Float],
                                _ callback: SamplerCallback?) throws -> Tensor {
        guard sigmas.count > 1 else { return x }
        let total = sigmas.count - 1
        let (sigmaMin, sigmaMax) = try endpoints(sigmas)
        var solver = Solver(denoise: denoise)
        let tStart = -Foundation.log(sigmaMax)
        let tEnd = -Foundation.log(sigmaMin)
        let nfe = total
        let m = nfe / 3 + 1
        let ts = TorchLinspace.float32(tStart, tEnd, m + 1)
        let orders: [Int] = nfe % 3 == 0 ? [Int](repeating: 3, count: m - 2) + [2, 1]
            : [Int](repeating: 3, count: m - 1) + [nfe % 3]
        var x = x
        for (i, order) in orders.enumerated() {
            solver.cache = [:]
            let t = ts[i]
            let tNext = ts[i + 1]
            let eps = try solver.eps(.base, x, t)
            let sigmaT = Solver.sigma(t)
            let denoised = LatentMath.zip(x, eps) { $0 - sigmaT * $1 }
            try callback?(i, total, x, denoised)
            switch order {
            case 1: x = try solver.step1(x, t, tNext)
            case 2: x = try solver.step2(x, t, tNext, r1: 0.5)
            default: x = try solver.step3(x, t, tNext)
            }
        }
        return x
    }

    private static func runAdaptive(_ denoise: @escaping DenoiseFunction, _ x: Tensor, _ sigmas: [Float],
                                    _ callback: SamplerCallback?) throws -> Tensor {
        guard sigmas.count > 1 else { return x }
        let total = sigmas.count - 1
        let (sigmaMin, sigmaMax) = try endpoints(sigmas)
        var solver = Solver(denoise: denoise)
        let tStart = -Foundation.log(sigmaMax)
        let tEnd = -Foundation.log(sigmaMin)
        let order = 3
        let rtol: Float = 0.05
        let atol: Float = 0.0078
        let forward = tEnd > tStart
        guard forward else { throw SamplerError(.invalidArguments, "dpm_adaptive: sigmas must decrease") }
        var controller = StepSizeController(h: 0.05, pcoeff: 0, icoeff: 1, dcoeff: 0, order: Double(order),
                                            acceptSafety: 0.81)
        var s = tStart
        var x = x
        var xPrevious = x
        var steps = 0
        let limit = tEnd - Float(1e-5)
        while s < limit {
            solver.cache = [:]
            let t = Swift.min(tEnd, s + Float(controller.h))
            let eps = try solver.eps(.base, x, s)
            let sigmaS = Solver.sigma(s)
            let denoised = LatentMath.zip(x, eps) { $0 - sigmaS * $1 }
            let low = try solver.step2(x, s, t, r1: 1.0 / 3)
            let high = try solver.step3(x, s, t)
            let error = scaledError(low: low, high: high, previous: xPrevious, rtol: rtol, atol: atol)
            if controller.proposeStep(error: Double(error)) {
                xPrevious = low
                x = high
                s = t
            }
            steps += 1
            try callback?(steps - 1, total, x, denoised)
        }
        return x
    }

    /// ComfyUI's σ_min (the last sigma, or the one before it when the last is 0) and σ_max (the first).
    private static func endpoints(_ sigmas: [Float]) throws -> (Float, Float) {
        var sigmaMin = sigmas[sigmas.count - 1]
        if sigmaMin == 0 { sigmaMin = sigmas[sigmas.count - 2] }
        let sigmaMax = sigmas[0]
        guard sigmaMin > 0, sigmaMax > 0 else {
            throw SamplerError(.invalidArguments, "sigma_min and sigma_max must not be 0")
        }
        return (sigmaMin, sigmaMax)
    }

    /// RMS of (x_low − x_high)/max(atol, rtol·max(|x_low|, |x_prev|)), accumulated in float64.
    private static func scaledError(low: Tensor, high: Tensor, previous: Tensor, rtol: Float, atol: Float) -> Float {
        let l = low.scalars
        let h = high.scalars
        let p = previous.scalars
        var sum = 0.0
        for i in l.indices {
            let delta = Swift.max(atol, rtol * Swift.max(Swift.abs(l[i]), Swift.abs(p[i])))
            let q = Double((l[i] - h[i]) / delta)
            sum += q * q
        }
        return Float(sum.squareRoot()) / Float(Double(l.count).squareRoot())
    }

    /// The noise-prediction evaluations of one step, cached by role as k-diffusion's `eps_cache` does.
    struct Solver {
        enum Key: Hashable { case base, r1, r2 }
        let denoise: DenoiseFunction
        var cache: [Key: Tensor] = [:]

        static func sigma(_ t: Float) -> Float { Foundation.exp(-t) }

        /// ε(x, t) = (x − D(x; σ(t)))/σ(t).
        mutating func eps(_ key: Key, _ x: Tensor, _ t: Float) throws -> Tensor {
            if let cached = cache[key] { return cached }
            let sigma = Solver.sigma(t)
            let denoised = try denoise(x, sigma)
            let eps = LatentMath.zip(x, denoised) { ($0 - $1) / sigma }
            cache[key] = eps
            return eps
        }

        mutating func step1(_ x: Tensor, _ t: Float, _ tNext: Float) throws -> Tensor {
            let h = tNext - t
            let eps = try self.eps(.base, x, t)
            let c = Solver.sigma(tNext) * Foundation.expm1(h)
            return LatentMath.zip(x, eps) { $0 - c * $1 }
        }

        mutating func step2(_ x: Tensor, _ t: Float, _ tNext: Float, r1: Double) throws -> Tensor {
            let h = tNext - t
            let eps = try self.eps(.base, x, t)
            let s1 = t + Float(r1) * h
            let c1 = Solver.sigma(s1) * Foundation.expm1(Float(r1) * h)
            let u1 = LatentMath.zip(x, eps) { $0 - c1 * $1 }
            let epsR1 = try self.eps(.r1, u1, s1)
            let a = Solver.sigma(tNext) * Foundation.expm1(h)
            let b = (Solver.sigma(tNext) / Float(2 * r1)) * Foundation.expm1(h)
            return LatentMath.zip(x, eps, epsR1) { x, e, e1 in (x - a * e) - b * (e1 - e) }
        }

        mutating func step3(_ x: Tensor, _ t: Float, _ tNext: Float) throws -> Tensor {
            let r1 = 1.0 / 3
            let r2 = 2.0 / 3
            let h = tNext - t
            let eps = try self.eps(.base, x, t)
            let s1 = t + Float(r1) * h
            let s2 = t + Float(r2) * h
            let c1 = Solver.sigma(s1) * Foundation.expm1(Float(r1) * h)
            let u1 = LatentMath.zip(x, eps) { $0 - c1 * $1 }
            let epsR1 = try self.eps(.r1, u1, s1)
            let r2h = Float(r2) * h
            let a2 = Solver.sigma(s2) * Foundation.expm1(r2h)
            let b2 = Solver.sigma(s2) * Float(r2 / r1) * (Foundation.expm1(r2h) / r2h - 1)
            let u2 = LatentMath.zip(x, eps, epsR1) { x, e, e1 in (x - a2 * e) - b2 * (e1 - e) }
            let epsR2 = try self.eps(.r2, u2, s2)
            let a = Solver.sigma(tNext) * Foundation.expm1(h)
            let b = Solver.sigma(tNext) / Float(r2) * (Foundation.expm1(h) / h - 1)
            return LatentMath.zip(x, eps, epsR2) { x, e, e2 in (x - a * e) - b * (e2 - e) }
        }
    }

    /// k-diffusion's PID step-size controller on the inverse error, with its arctan limiter.
    struct StepSizeController {
        var h: Double
        let b1: Double
        let b2: Double
        let b3: Double
        let acceptSafety: Double
        let eps = 1e-8
        var errors: [Double] = []

        init(h: Double, pcoeff: Double, icoeff: Double, dcoeff: Double, order: Double, acceptSafety: Double) {
            self.h = h
            b1 = (pcoeff + icoeff + dcoeff) / order
            b2 = -(pcoeff + 2 * dcoeff) / order
            b3 = dcoeff / order
            self.acceptSafety = acceptSafety
        }

        /// Scales `h` by the controller's factor; whether the step that produced `error` is accepted.
        mutating func proposeStep(error: Double) -> Bool {
            let inverse = 1 / (error + eps)
            if errors.isEmpty { errors = [inverse, inverse, inverse] }
            errors[0] = inverse
            var factor = Foundation.pow(errors[0], b1) * Foundation.pow(errors[1], b2) * Foundation.pow(errors[2], b3)
            factor = 1 + Foundation.atan(factor - 1)
            let accept = factor >= acceptSafety
            if accept {
                errors[2] = errors[1]
                errors[1] = errors[0]
            }
            h *= factor
            return accept
        }
    }
}
