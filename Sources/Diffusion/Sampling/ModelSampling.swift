import Foundation
import TensorCore

/// A model's noise schedule and the conversions between the sampler's σ-space and the network's input and
/// output: ComfyUI's `ModelSamplingDiscrete` (DDPM-trained models: SD1.x, SD2.x, SDXL) and
/// `ModelSamplingContinuousEDM` (Stable Video Diffusion), each with the `EPS`, `V_PREDICTION` or `X0`
/// parameterisation.
///
/// Discrete schedule: `betas = linspace(√start, √end, T)²` in float64, `ᾱ = cumprod(1 − β)`,
/// `σ_t = √((1 − ᾱ_t)/ᾱ_t)`, stored as float32 (and `log σ` computed in float64, then stored as float32), σ
/// increasing with t; the network's timestep is the index of the nearest `log σ`.
///
/// Distilled schedule (ComfyUI's `ModelSamplingDiscreteDistilled`, `ModelSamplingDiscrete`'s `lcm` option): 50 of the
/// discrete sigmas, every `T/50`-th counted down from the top; the network's timestep for σ is the nearest one's index
/// times `T/50` plus `T/50 − 1` (so 19 … 999).
///
/// Continuous EDM schedule (Karras et al., "Elucidating the Design Space of Diffusion-Based Generative Models",
/// 2022): σ anywhere in [σ_min, σ_max], the network's timestep is `0.25·ln σ`; a table of 1000 sigmas spaced
/// evenly in `log σ` (float32, as ComfyUI builds it) serves the schedulers that read one.
public struct ModelSampling: Sendable, Equatable {
    /// What the network predicts.
    public enum Prediction: String, Sendable, Equatable {
        /// The noise ε (SD1.x, SDXL): `denoised = x − ε·σ`.
        case eps
        /// The velocity v (SD2.x 768-v): `denoised = x·σ_d²/(σ² + σ_d²) − v·σ·σ_d/√(σ² + σ_d²)`.
        case vPrediction
        /// The clean sample itself: `denoised = output`.
        case x0
        /// A latent consistency model (ComfyUI's `LCM`, ε-prediction): with `t'` = 10 × the network's timestep,
        /// `denoised = c_out·(x − ε·σ) + c_skip·x`, `c_skip = σ_d²/(t'² + σ_d²)`, `c_out = t'/√(t'² + σ_d²)`, σ_d = 0.5.
        case lcm
        /// ComfyUI's `IMG_TO_IMG`: x0-prediction whose network input is the sampler's x unscaled.
        case imgToImg
    }

    /// How σ maps to the network's timestep.
    public enum TimeScale: Sendable, Equatable {
        /// Integer timesteps 0 ..< T of a DDPM schedule.
        case discrete
        /// `t = 0.25·ln σ` (EDM).
        case continuousEDM
        /// A distilled subset of a discrete schedule: table index `i` is timestep `i·skipSteps + skipSteps − 1`.
        case distilled(skipSteps: Int)
    }

    public let prediction: Prediction
    public let timeScale: TimeScale
    /// σ for timesteps 0 ..< T, increasing (float32). For EDM: the 1000-entry log-spaced table.
    public let sigmas: [Float]
    /// `log σ` per timestep (float32).
    public let logSigmas: [Float]
    /// The data standard deviation (1 for every model Loom runs).
    public let sigmaData: Float

    /// The "linear" beta schedule.
    ///
    /// - Parameters:
    ///   - prediction: the network's parameterisation.
    ///   - linearStart: β at t = 0 (ComfyUI's default 0.00085).
    ///   - linearEnd: β at t = T − 1 (default 0.012).
    ///   - timesteps: T (default 1000).
    ///   - zeroTerminalSNR: rescale so that the last timestep has zero SNR (Lin et al. 2023, "Common Diffusion
    ///     Noise Schedules and Sample Steps are Flawed"), as ComfyUI's `zsnr` option.
    public init(prediction: Prediction = .eps, linearStart: Double = 0.00085, linearEnd: Double = 0.012,
                timesteps: Int = 1000, zeroTerminalSNR: Bool = false) {
        precondition(timesteps >= 2, "ModelSampling: need at least two timesteps")
        let roots = TorchLinspace.float64(linearStart.squareRoot(), linearEnd.squareRoot(), timesteps)
        var cumulative = 1.0
        var sigmas64 = [Double](repeating: 0, count: timesteps)
        for (t, root) in roots.enumerated() {
            cumulative *= 1 - root * root
            sigmas64[t] = ((1 - cumulative) / cumulative).squareRoot()
        }
        if zeroTerminalSNR { sigmas64 = Self.rescaledToZeroTerminalSNR(sigmas64) }
        self.init(prediction: prediction, sigmas: sigmas64)
    }

    /// A schedule from explicit float64 sigmas (increasing).
    public init(prediction: Prediction, sigmas: [Double]) {
        precondition(sigmas.count >= 2, "ModelSampling: need at least two sigmas")
        self.prediction = prediction
        self.timeScale = .discrete
        self.sigmas = sigmas.map { Float($0) }
        self.logSigmas = sigmas.map { Float(Foundation.log($0)) }
        self.sigmaData = 1
    }

    /// ComfyUI's `ModelSamplingContinuousEDM` with `set_parameters(sigma_min, sigma_max, sigma_data)`: the table is
    /// `exp(linspace(ln σ_min, ln σ_max, 1000))` in float32, so ``sigmaMin`` and ``sigmaMax`` are its float32
    /// end points (700 → 700.00012).
    public static func continuousEDM(prediction: Prediction, sigmaMin: Double, sigmaMax: Double,
                                     sigmaData: Double = 1) -> ModelSampling {
        ModelSampling(prediction: prediction, sigmaMin: sigmaMin, sigmaMax: sigmaMax, sigmaData: sigmaData)
    }

    private init(prediction: Prediction, sigmaMin: Double, sigmaMax: Double, sigmaData: Double) {
        precondition(sigmaMin > 0 && sigmaMax > sigmaMin, "ModelSampling: EDM needs 0 < σ_min < σ_max")
        self.prediction = prediction
        self.timeScale = .continuousEDM
        let table = TorchLinspace.float32(Float(Foundation.log(sigmaMin)), Float(Foundation.log(sigmaMax)), 1000)
            .map { Foundation.exp($0) }
        self.sigmas = table
        self.logSigmas = table.map { Foundation.log($0) }
        self.sigmaData = Float(sigmaData)
    }

    /// ComfyUI's `ModelSamplingDiscreteDistilled` over this discrete schedule: `originalTimesteps` of its sigmas
    /// (`σ[T − 1 − x·(T/n)]` for x < n, increasing), `log σ` taken in float32, with `prediction`.
    public func distilled(originalTimesteps n: Int = 50, prediction: Prediction) -> ModelSampling {
        precondition(timeScale == .discrete && n >= 2 && sigmas.count >= n, "ModelSampling: cannot distil \(timeScale)")
        let skip = sigmas.count / n
        var valid = [Float](repeating: 0, count: n)
        for x in 0..<n { valid[n - 1 - x] = sigmas[sigmas.count - 1 - x * skip] }
        return ModelSampling(prediction: prediction, timeScale: .distilled(skipSteps: skip), sigmas: valid,
                             logSigmas: valid.map { Foundation.log($0) }, sigmaData: sigmaData)
    }

    private init(prediction: Prediction, timeScale: TimeScale, sigmas: [Float], logSigmas: [Float], sigmaData: Float) {
        self.prediction = prediction
        self.timeScale = timeScale
        self.sigmas = sigmas
        self.logSigmas = logSigmas
        self.sigmaData = sigmaData
    }

    /// Stable Video Diffusion's sampling: v-prediction on the EDM schedule with σ in [0.002, 700].
    public static let stableVideoDiffusion = continuousEDM(prediction: .vPrediction, sigmaMin: 0.002, sigmaMax: 700)

    /// The smallest σ of the schedule (`sigmas[0]`).
    public var sigmaMin: Float { sigmas[0] }
    /// The largest σ of the schedule (`sigmas[T - 1]`).
    public var sigmaMax: Float { sigmas[sigmas.count - 1] }

    /// The network's timestep input for `sigma`: the index of the nearest `log σ` (first on ties) on a discrete
    /// schedule, `0.25·ln σ` (float32) on EDM.
    public func timestep(_ sigma: Float) -> Float {
        switch timeScale {
        case .discrete: Float(timestepIndex(sigma))
        case .continuousEDM: 0.25 * Foundation.log(sigma)
        case .distilled(let skip): Float(timestepIndex(sigma) * skip + skip - 1)
        }
    }

    /// The index of ``timestep(_:)``.
    public func timestepIndex(_ sigma: Float) -> Int {
        let logSigma = Foundation.log(sigma)
        var best = 0
        var bestDistance = Float.infinity
        for (t, value) in logSigmas.enumerated() {
            let distance = Swift.abs(logSigma - value)
            // NaN compares false: like torch's argmin, a NaN distance wins and stays.
            if distance.isNaN { return t }
            if distance < bestDistance {
                bestDistance = distance
                best = t
            }
        }
        return best
    }

    /// σ at a fractional timestep: `log σ` interpolated linearly between the neighbouring integer timesteps
    /// (float32, the timestep clamped to [0, T − 1]).
    public func sigma(timestep: Float) -> Float {
        if timeScale == .continuousEDM { return Foundation.exp(timestep / 0.25) }
        var timestep = timestep
        if case .distilled(let skip) = timeScale { timestep = (timestep - Float(skip - 1)) / Float(skip) }
        let t = Swift.min(Swift.max(timestep, 0), Float(sigmas.count - 1))
        let low = Int(t.rounded(.down))
        let high = Int(t.rounded(.up))
        let w = t - t.rounded(.towardZero)
        let logSigma = (1 - w) * logSigmas[low] + w * logSigmas[high]
        return Foundation.exp(logSigma)
    }

    /// The σ at which `percent` of the sampling has been done (0 → a huge σ, 1 → 0), for start/end percentages.
    public func percentToSigma(_ percent: Double) -> Double {
        if percent <= 0 { return 999_999_999.9 }
        if percent >= 1 { return 0 }
        if timeScale == .continuousEDM {
            let logMin = Foundation.log(Double(sigmaMin))
            return Foundation.exp((Foundation.log(Double(sigmaMax)) - logMin) * (1 - percent) + logMin)
        }
        return Double(sigma(timestep: Float((1 - percent) * 999)))
    }

    /// The network input for a sampler state `x` at σ: `x / √(σ² + σ_d²)` (`x` itself for ``Prediction/imgToImg``).
    public func calculateInput(sigma: Float, _ x: Tensor) -> Tensor {
        if prediction == .imgToImg { return x }
        let scale = (sigma * sigma + sigmaData * sigmaData).squareRoot()
        return LatentMath.map(x) { $0 / scale }
    }

    /// The denoised estimate from the network output at σ for the model input `x` (the sampler's x).
    public func calculateDenoised(sigma: Float, output: Tensor, input x: Tensor) -> Tensor {
        switch prediction {
        case .eps:
            return LatentMath.zip(x, output) { $0 - $1 * sigma }
        case .vPrediction:
            let s2 = sigma * sigma + sigmaData * sigmaData
            let a = sigmaData * sigmaData / s2
            let b = sigma * sigmaData / s2.squareRoot()
            return LatentMath.zip(x, output) { $0 * a - $1 * b }
        case .x0, .imgToImg:
            return output
        case .lcm:
            let scaled = timestep(sigma) * 10
            let dataSquared: Float = 0.25
            let cSkip = dataSquared / (scaled * scaled + dataSquared)
            let cOut = scaled / (scaled * scaled + dataSquared).squareRoot()
            return LatentMath.zip(x, output) { x, e in
                let x0 = x - e * sigma
                return cOut * x0 + cSkip * x
            }
        }
    }

    /// The starting point of sampling: `noise·σ + latent`, or `noise·√(1 + σ²) + latent` with `maxDenoise`
    /// (full denoise from the schedule's top, where the latent is scaled as in DDPM's x_T).
    public func noiseScaling(sigma: Float, noise: Tensor, latent: Tensor, maxDenoise: Bool) -> Tensor {
        let scale = maxDenoise ? (1 + sigma * sigma).squareRoot() : sigma
        return LatentMath.zip(noise, latent) { $0 * scale + $1 }
    }

    /// Undoes ``noiseScaling(sigma:noise:latent:maxDenoise:)`` on the sampler's result (the identity here).
    public func inverseNoiseScaling(sigma: Float, _ latent: Tensor) -> Tensor { latent }

    /// Whether a schedule starting at `firstSigma` starts from pure noise (ComfyUI's `max_denoise`):
    /// `firstSigma` ≥ σ_max up to a relative 1e-5.
    public func isMaxDenoise(firstSigma: Float) -> Bool {
        let maxSigma = Double(sigmaMax)
        let sigma = Double(firstSigma)
        return Swift.abs(maxSigma - sigma) <= 1e-5 * Swift.max(Swift.abs(maxSigma), Swift.abs(sigma)) || sigma > maxSigma
    }

    private static func rescaledToZeroTerminalSNR(_ sigmas: [Double]) -> [Double] {
        var roots = sigmas.map { (1 / ($0 * $0 + 1)).squareRoot() }
        let first = roots[0]
        let last = roots[roots.count - 1]
        for i in roots.indices {
            roots[i] = (roots[i] - last) * (first / (first - last))
        }
        var alphas = roots.map { $0 * $0 }
        alphas[alphas.count - 1] = 4.8973451890853435e-08
        return alphas.map { ((1 - $0) / $0).squareRoot() }
    }
}
