import Models
import TensorCore

/// What one `KSampler` / `KSamplerAdvanced` node asks for (ComfyUI's `common_ksampler` arguments).
public struct KSamplerSettings: Sendable {
    public var seed: UInt64
    public var steps: Int
    public var cfg: Double
    public var sampler: KSamplerName
    public var scheduler: SchedulerName
    public var denoise: Double
    /// `add_noise = disable`: start from the latent itself (zero initial noise).
    public var disableNoise: Bool
    /// `start_at_step` (KSamplerAdvanced), nil for KSampler.
    public var startStep: Int?
    /// `end_at_step` (KSamplerAdvanced), nil for KSampler.
    public var lastStep: Int?
    /// `return_with_leftover_noise = disable`: force the last sigma of a shortened schedule to 0.
    public var forceFullDenoise: Bool

    public init(seed: UInt64, steps: Int, cfg: Double, sampler: KSamplerName, scheduler: SchedulerName, denoise: Double = 1,
                disableNoise: Bool = false, startStep: Int? = nil, lastStep: Int? = nil, forceFullDenoise: Bool = false) {
        self.seed = seed
        self.steps = steps
        self.cfg = cfg
        self.sampler = sampler
        self.scheduler = scheduler
        self.denoise = denoise
        self.disableNoise = disableNoise
        self.startStep = startStep
        self.lastStep = lastStep
        self.forceFullDenoise = forceFullDenoise
    }
}

/// Sampling as ComfyUI's `common_ksampler` → `comfy.sample.sample` → `KSampler.sample` →
/// `CFGGuider.sample` → `KSAMPLER.sample` runs it.
public enum KSamplerRun {
    /// The SD1.x latent format (also Stable Video Diffusion's): latents are multiplied by this on the way into
    /// the model.
    public static let latentScale: Float = 0.18215

    /// The sigmas the sampler walks for `settings`, after the denoise truncation and the
    /// start/end-step cuts of `KSamplerAdvanced`. Empty (or one sigma) means nothing to do.
    public static func sigmas(_ settings: KSamplerSettings, sampling: ModelSampling) -> [Float] {
        var sigmas = KSamplerSigmas.sigmas(sampling, scheduler: settings.scheduler, sampler: settings.sampler,
                                           steps: settings.steps, denoise: settings.denoise)
        if let last = settings.lastStep, last < sigmas.count - 1 {
            sigmas = Array(sigmas[...last])
            if settings.forceFullDenoise { sigmas[sigmas.count - 1] = 0 }
        }
        if let start = settings.startStep {
            if start < sigmas.count - 1 { sigmas = Array(sigmas[start...]) } else { return [] }
        }
        return sigmas
    }

    /// Samples `latent` and returns the new `samples` (VAE space).
    ///
    /// - Parameters:
    ///   - progress: called after each step with (step, total); throw from it to interrupt.
    /// - Throws: whatever `progress` throws.
    public static func sample(network: any GuidedNetwork, sampling: ModelSampling, positive: Conditioning,
                              negative: Conditioning, latent: Latent, settings: KSamplerSettings,
                              cfgFunction: CFGFunction? = nil, backend: any Backend,
                              progress: ((Int, Int) throws -> Void)? = nil) throws -> Tensor {
        let latentImage = backend.contiguous(latent.samples)
        let shape = latentImage.shape
        let noise: Tensor
        if settings.disableNoise {
            noise = Tensor(zeros: shape)
        } else {
            noise = Tensor(shape: shape, scalars: ComfyNoise.prepareNoise(shape: shape, seed: settings.seed,
                                                                          batchIndex: latent.batchIndex))
        }
        let sigmas = Self.sigmas(settings, sampling: sampling)
        // KSampler.sample returns the input latent when the start step is past the schedule; CFGGuider
        // returns it when the schedule is empty (denoise 0).
        if sigmas.count <= 1 { return latentImage }

        let isEmpty = latentImage.withFloats { !$0.contains { $0 != 0 } }
        let modelLatent = isEmpty ? latentImage : backend.affine(latentImage, scale: latentScale, shift: 0)
        let mask = latent.noiseMask.map { denoiseMask($0, like: shape, backend: backend) }
        let guider = CFGGuider(network: network, sampling: sampling, positive: positive, negative: negative,
                               cfg: settings.cfg, cfgFunction: cfgFunction, backend: backend)

        // KSamplerX0Inpaint: outside the mask the latent is held at the original image plus the step's noise.
        var inpaintNoise = noise
        if mask != nil, settings.sampler.usesRandomInpaintNoise {
            var seed = settings.seed
            seed &+= 1
            inpaintNoise = Tensor(shape: shape, scalars: ComfyNoise.prepareNoise(shape: shape, seed: seed, batchIndex: nil))
        }
        let denoiseFunction: DenoiseFunction = { x, sigma in
            guard let mask else { return guider.denoise(x, sigma: sigma) }
            let keep = backend.affine(mask, scale: -1, shift: 1)
            let held = sampling.noiseScaling(sigma: sigma, noise: inpaintNoise, latent: modelLatent, maxDenoise: false)
            let blended = backend.add(backend.multiply(x, mask), backend.multiply(held, keep))
            let out = guider.denoise(blended, sigma: sigma)
            return backend.add(backend.multiply(out, mask), backend.multiply(modelLatent, keep))
        }
        let maxDenoise = sampling.isMaxDenoise(firstSigma: sigmas[0])
        let start = sampling.noiseScaling(sigma: sigmas[0], noise: noise, latent: modelLatent, maxDenoise: maxDenoise)
        let total = sigmas.count - 1
        let callback: SamplerCallback = { step, _, _, _ in try progress?(step + 1, total) }
        var samples = try runSampler(settings.sampler, denoise: denoiseFunction, x: start, sigmas: sigmas, seed: settings.seed,
                                     modelSampling: sampling, callback: callback)
        samples = sampling.inverseNoiseScaling(sigma: sigmas[sigmas.count - 1], samples)
        return backend.affine(samples, scale: 1 / latentScale, shift: 0)
    }

    /// ComfyUI's `prepare_mask`: the noise mask resized (bilinear) to the latent, repeated over channels and
    /// to the batch.
    static func denoiseMask(_ mask: Tensor, like shape: [Int], backend: any Backend) -> Tensor {
        let h = mask.shape[mask.rank - 2], w = mask.shape[mask.rank - 1]
        let planes = mask.reshaped([-1, 1, h, w])
        let resized = backend.interpolate(planes, size: (shape[2], shape[3]), mode: .bilinear)
        let channels = Tensor.concatenated([Tensor](repeating: resized, count: shape[1]), dim: 1)
        return backend.contiguous(channels.repeatedToBatch(shape[0]))
    }
}

extension KSamplerName {
    /// ComfyUI builds `ddim` as euler whose inpainting noise (outside a noise mask) is drawn afresh from
    /// `seed + 1` instead of reusing the initial noise.
    public var usesRandomInpaintNoise: Bool { self == .ddim }
}
