/// ComfyUI 0.3.64's sampler names (`comfy.samplers.SAMPLER_NAMES`: `KSAMPLER_NAMES` + ddim, uni_pc, uni_pc_bh2),
/// in its order: the KSampler node's `sampler_name` combo.
///
/// Not every name has an implementation; ``SamplerRegistry`` says which do.
public enum KSamplerName: String, CaseIterable, Sendable {
    case euler
    case eulerCFGPP = "euler_cfg_pp"
    case eulerAncestral = "euler_ancestral"
    case eulerAncestralCFGPP = "euler_ancestral_cfg_pp"
    case heun
    case heunpp2
    case dpm2 = "dpm_2"
    case dpm2Ancestral = "dpm_2_ancestral"
    case lms
    case dpmFast = "dpm_fast"
    case dpmAdaptive = "dpm_adaptive"
    case dpmpp2sAncestral = "dpmpp_2s_ancestral"
    case dpmpp2sAncestralCFGPP = "dpmpp_2s_ancestral_cfg_pp"
    case dpmppSDE = "dpmpp_sde"
    case dpmppSDEGPU = "dpmpp_sde_gpu"
    case dpmpp2m = "dpmpp_2m"
    case dpmpp2mCFGPP = "dpmpp_2m_cfg_pp"
    case dpmpp2mSDE = "dpmpp_2m_sde"
    case dpmpp2mSDEGPU = "dpmpp_2m_sde_gpu"
    case dpmpp2mSDEHeun = "dpmpp_2m_sde_heun"
    case dpmpp2mSDEHeunGPU = "dpmpp_2m_sde_heun_gpu"
    case dpmpp3mSDE = "dpmpp_3m_sde"
    case dpmpp3mSDEGPU = "dpmpp_3m_sde_gpu"
    case ddpm
    case lcm
    case ipndm
    case ipndmV = "ipndm_v"
    case deis
    case resMultistep = "res_multistep"
    case resMultistepCFGPP = "res_multistep_cfg_pp"
    case resMultistepAncestral = "res_multistep_ancestral"
    case resMultistepAncestralCFGPP = "res_multistep_ancestral_cfg_pp"
    case gradientEstimation = "gradient_estimation"
    case gradientEstimationCFGPP = "gradient_estimation_cfg_pp"
    case erSDE = "er_sde"
    case seeds2 = "seeds_2"
    case seeds3 = "seeds_3"
    case saSolver = "sa_solver"
    case saSolverPECE = "sa_solver_pece"
    case ddim
    case uniPC = "uni_pc"
    case uniPCBH2 = "uni_pc_bh2"

    /// Samplers for which KSampler computes one more step and drops the penultimate sigma
    /// (`KSampler.DISCARD_PENULTIMATE_SIGMA_SAMPLERS`).
    public var discardsPenultimateSigma: Bool {
        switch self {
        case .dpm2, .dpm2Ancestral, .uniPC, .uniPCBH2: return true
        default: return false
        }
    }
}

/// The sigmas the KSampler node samples with (`comfy.samplers.KSampler.set_steps` / `calculate_sigmas`).
public enum KSamplerSigmas {
    /// - Parameters:
    ///   - sampling: the model's noise schedule.
    ///   - scheduler: the scheduler.
    ///   - sampler: the sampler (a few compute one more step and drop the penultimate sigma).
    ///   - steps: the node's `steps`.
    ///   - denoise: the node's `denoise`: above 0.9999 the full schedule; in (0, 0.9999] the last `steps + 1`
    ///     sigmas of the schedule for `Int(steps / denoise)` steps; ≤ 0 no sigmas at all (nothing is sampled).
    /// - Returns: the sigmas, usually `steps + 1` values ending in 0.
    public static func sigmas(_ sampling: ModelSampling, scheduler: SchedulerName, sampler: KSamplerName,
                              steps: Int, denoise: Double = 1) -> [Float] {
        func calculate(_ steps: Int) -> [Float] {
            guard sampler.discardsPenultimateSigma else { return scheduler.sigmas(sampling, steps: steps) }
            var sigmas = scheduler.sigmas(sampling, steps: steps + 1)
            if sigmas.count >= 2 { sigmas.remove(at: sigmas.count - 2) }
            return sigmas
        }
        if denoise > 0.9999 { return calculate(steps) }
        if denoise <= 0 { return [] }
        let full = calculate(Int(Double(steps) / denoise))
        return Array(full.suffix(steps + 1))
    }
}
