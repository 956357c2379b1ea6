import TensorCore

/// What a sampler calls: the state `x` and a σ → the denoised estimate (classifier-free guidance already applied).
/// Throw to interrupt sampling; the error propagates out of the sampler.
public typealias DenoiseFunction = (_ x: Tensor, _ sigma: Float) throws -> Tensor

/// Called after each step as k-diffusion calls its callback: (step index, total steps = `sigmas.count − 1`, x,
/// denoised). Throw to interrupt.
public typealias SamplerCallback = (_ step: Int, _ total: Int, _ x: Tensor, _ denoised: Tensor) throws -> Void

/// A sampler: the denoiser, the starting state (already noised: see
/// ``ModelSampling/noiseScaling(sigma:noise:latent:maxDenoise:)``), the sigmas, the run's context and an
/// optional step callback → the final state.
public typealias SamplingFunction = @Sendable (
    _ denoise: DenoiseFunction, _ x: Tensor, _ sigmas: [Float], _ context: SamplerContext, _ callback: SamplerCallback?
) throws -> Tensor

/// What a sampler may need besides the denoiser: the seed of its noise and the model's noise schedule.
public struct SamplerContext: Sendable {
    /// The KSampler seed; ancestral samplers draw their noise from a fresh CPU generator seeded with it
    /// (k-diffusion's `default_noise_sampler`), SDE samplers seed their Brownian tree with it.
    public var seed: UInt64
    /// The model's noise schedule (for samplers that rescale noise, such as `lcm`).
    public var modelSampling: ModelSampling
    /// torch's CPU `randn` kernel to reproduce.
    public var noiseKernel: TorchGenerator.Kernel

    public init(seed: UInt64, modelSampling: ModelSampling = ModelSampling(),
                noiseKernel: TorchGenerator.Kernel = .avx2) {
        self.seed = seed
        self.modelSampling = modelSampling
        self.noiseKernel = noiseKernel
    }

    /// k-diffusion's `default_noise_sampler(x, seed)` for latents of `shape`.
    public func noiseSampler(shape: [Int]) -> AncestralNoiseSampler {
        AncestralNoiseSampler(shape: shape, seed: seed, kernel: noiseKernel)
    }
}

/// Why a sampler did not run.
public struct SamplerError: Error, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// The sampler name has no implementation in the registry.
        case notImplemented = "sampler_not_implemented"
        /// The arguments cannot be sampled (for example a zero σ where the sampler needs a positive one).
        case invalidArguments = "sampler_invalid_arguments"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The sampling functions by name. ``builtin`` holds the deterministic and ancestral k-diffusion samplers, DDIM
/// and UniPC; other implementations (the SDE samplers with their Brownian-tree noise) are added with
/// ``adding(_:_:)`` by whoever composes the engine.
public struct SamplerRegistry: Sendable {
    private var functions: [KSamplerName: SamplingFunction]

    public init(_ functions: [KSamplerName: SamplingFunction] = [:]) {
        self.functions = functions
    }

    /// The samplers implemented in this module.
    public static let builtin = SamplerRegistry([
        .euler: KDiffusionSamplers.euler,
        .ddim: KDiffusionSamplers.euler,
        .eulerAncestral: KDiffusionSamplers.eulerAncestral,
        .heun: KDiffusionSamplers.heun,
        .heunpp2: KDiffusionSamplers.heunpp2,
        .dpm2: KDiffusionSamplers.dpm2,
        .dpm2Ancestral: KDiffusionSamplers.dpm2Ancestral,
        .lms: LinearMultistepSampler.sample,
        .dpmFast: DPMSolverSampler.fast,
        .dpmAdaptive: DPMSolverSampler.adaptive,
        .dpmpp2sAncestral: DPMSolverPlusPlusSamplers.twoSAncestral,
        .dpmpp2m: DPMSolverPlusPlusSamplers.twoM,
        .ddpm: StepSamplers.ddpm,
        .lcm: StepSamplers.lcm,
        .ipndm: StepSamplers.ipndm,
        .uniPC: UniPCSampler.bh1,
        .uniPCBH2: UniPCSampler.bh2,
        // The SDE samplers draw Brownian-tree noise; on the CPU the `_gpu` names build the same tree.
        .dpmppSDE: sdeSampler { try sampleDPMPPSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, kernel: $3.noiseKernel, callback: $4) },
        .dpmppSDEGPU: sdeSampler { try sampleDPMPPSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, kernel: $3.noiseKernel, callback: $4) },
        .dpmpp2mSDE: sdeSampler { try sampleDPMPP2MSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, kernel: $3.noiseKernel, callback: $4) },
        .dpmpp2mSDEGPU: sdeSampler { try sampleDPMPP2MSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, kernel: $3.noiseKernel, callback: $4) },
        .dpmpp2mSDEHeun: sdeSampler {
            try sampleDPMPP2MSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, solverType: .heun, kernel: $3.noiseKernel, callback: $4)
        },
        .dpmpp2mSDEHeunGPU: sdeSampler {
            try sampleDPMPP2MSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, solverType: .heun, kernel: $3.noiseKernel, callback: $4)
        },
        .dpmpp3mSDE: sdeSampler { try sampleDPMPP3MSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, kernel: $3.noiseKernel, callback: $4) },
        .dpmpp3mSDEGPU: sdeSampler { try sampleDPMPP3MSDE(denoise: $0, x: $1, sigmas: $2, seed: $3.seed, kernel: $3.noiseKernel, callback: $4) },
    ])

    /// Marks a closure over the SDE sampler functions as a ``SamplingFunction``.
    private static func sdeSampler(_ function: @escaping SamplingFunction) -> SamplingFunction { function }

    /// This registry with `function` under `name` (replacing any earlier one).
    public func adding(_ name: KSamplerName, _ function: @escaping SamplingFunction) -> SamplerRegistry {
        var copy = self
        copy.functions[name] = function
        return copy
    }

    /// The function for `name`, if implemented.
    public func function(for name: KSamplerName) -> SamplingFunction? { functions[name] }

    /// The implemented names, in ComfyUI's order.
    public var names: [KSamplerName] { KSamplerName.allCases.filter { functions[$0] != nil } }
}

/// Runs the sampler `name` from `x` over `sigmas` (ComfyUI's `KSAMPLER.sample` between noise scaling and inverse
/// noise scaling). Fewer than two sigmas return `x` unchanged.
///
/// - Parameters:
///   - name: the sampler.
///   - denoise: the guided denoiser.
///   - x: the starting state (noised latent, model space).
///   - sigmas: the schedule (see ``KSamplerSigmas``).
///   - seed: the KSampler seed (noise of the stochastic samplers).
///   - modelSampling: the model's noise schedule.
///   - callback: called after each step.
///   - registry: where to look `name` up.
/// - Returns: the final state.
/// - Throws: ``SamplerError`` for an unimplemented sampler; whatever `denoise` or `callback` throw.
public func runSampler(
    _ name: KSamplerName, denoise: DenoiseFunction, x: Tensor, sigmas: [Float], seed: UInt64,
    modelSampling: ModelSampling = ModelSampling(), callback: SamplerCallback? = nil,
    registry: SamplerRegistry = .builtin
) throws -> Tensor {
    guard let function = registry.function(for: name) else {
        throw SamplerError(.notImplemented, "sampler \(name.rawValue) is not implemented")
    }
    return try function(denoise, x, sigmas, SamplerContext(seed: seed, modelSampling: modelSampling), callback)
}
