import Diffusion
import Models
import TensorCore
import Workflow

/// ComfyUI's `KSampler` and `KSamplerAdvanced`: denoise a LATENT with a MODEL guided by positive and
/// negative CONDITIONING (``KSamplerRun``), reporting a `progress` event per step and stopping between
/// steps when the job is interrupted.
enum KSamplerNode {
    static let samplerNames = SamplerRegistry.builtin.names.map(\.rawValue)
    static let schedulerNames = SchedulerName.allCases.map(\.rawValue)

    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "KSampler", displayName: "KSampler",
            description: "Uses the provided model, positive and negative conditioning to denoise the latent image.",
            category: "sampling", pythonModule: "nodes",
            required: [
                InputSpec("model", .socket(SocketType.model), tooltip: "The model used for denoising the input latent."),
                InputSpec("seed", .int(IntOptions(default: 0, min: 0, max: .uint(UInt64.max), controlAfterGenerate: true)),
                          tooltip: "The random seed used for creating the noise."),
                InputSpec("steps", .int(IntOptions(default: 20, min: 1, max: .int(10000))),
                          tooltip: "The number of steps used in the denoising process."),
                InputSpec("cfg", .float(FloatOptions(default: 8.0, min: 0, max: 100, step: 0.1, round: 0.01)),
                          tooltip: "The Classifier-Free Guidance scale balances creativity and adherence to the prompt. Higher values result in images more closely matching the prompt however too high values will negatively impact quality."),
                InputSpec("sampler_name", .combo(ComboOptions(samplerNames)),
                          tooltip: "The algorithm used when sampling, this can affect the quality, speed, and style of the generated output."),
                InputSpec("scheduler", .combo(ComboOptions(schedulerNames)),
                          tooltip: "The scheduler controls how noise is gradually removed to form the image."),
                InputSpec("positive", .socket(SocketType.conditioning),
                          tooltip: "The conditioning describing the attributes you want to include in the image."),
                InputSpec("negative", .socket(SocketType.conditioning),
                          tooltip: "The conditioning describing the attributes you want to exclude from the image."),
                InputSpec("latent_image", .socket(SocketType.latent), tooltip: "The latent image to denoise."),
                InputSpec("denoise", .float(FloatOptions(default: 1.0, min: 0, max: 1, step: 0.01)),
                          tooltip: "The amount of denoising applied, lower values will maintain the structure of the initial image allowing for image to image sampling."),
            ],
            outputs: [OutputSpec(SocketType.latent, tooltip: "The denoised latent.")]
        )
        return NodeDefinition(schema: schema) { inv in
            let settings = KSamplerSettings(
                seed: UInt64(bitPattern: try inv.int("seed")), steps: Int(try inv.int("steps")), cfg: try inv.double("cfg"),
                sampler: try samplerName(inv), scheduler: try schedulerName(inv), denoise: try inv.double("denoise"))
            return try run(inv, env: env, settings: settings)
        }
    }

    static func advancedDefinition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "KSamplerAdvanced", displayName: "KSampler (Advanced)", category: "sampling", pythonModule: "nodes",
            required: [
                InputSpec("model", .socket(SocketType.model)),
                InputSpec("add_noise", .combo(ComboOptions(["enable", "disable"]))),
                InputSpec("noise_seed", .int(IntOptions(default: 0, min: 0, max: .uint(UInt64.max), controlAfterGenerate: true))),
                InputSpec("steps", .int(IntOptions(default: 20, min: 1, max: .int(10000)))),
                InputSpec("cfg", .float(FloatOptions(default: 8.0, min: 0, max: 100, step: 0.1, round: 0.01))),
                InputSpec("sampler_name", .combo(ComboOptions(samplerNames))),
                InputSpec("scheduler", .combo(ComboOptions(schedulerNames))),
                InputSpec("positive", .socket(SocketType.conditioning)),
                InputSpec("negative", .socket(SocketType.conditioning)),
                InputSpec("latent_image", .socket(SocketType.latent)),
                InputSpec("start_at_step", .int(IntOptions(default: 0, min: 0, max: .int(10000)))),
                InputSpec("end_at_step", .int(IntOptions(default: 10000, min: 0, max: .int(10000)))),
                InputSpec("return_with_leftover_noise", .combo(ComboOptions(["disable", "enable"]))),
            ],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            let settings = KSamplerSettings(
                seed: UInt64(bitPattern: try inv.int("noise_seed")), steps: Int(try inv.int("steps")),
                cfg: try inv.double("cfg"), sampler: try samplerName(inv), scheduler: try schedulerName(inv), denoise: 1,
                disableNoise: try inv.string("add_noise") == "disable",
                startStep: Int(try inv.int("start_at_step")), lastStep: Int(try inv.int("end_at_step")),
                forceFullDenoise: try inv.string("return_with_leftover_noise") != "enable")
            return try run(inv, env: env, settings: settings)
        }
    }

    static func samplerName(_ inv: NodeInvocation) throws -> KSamplerName {
        let name = try inv.string("sampler_name")
        guard let sampler = KSamplerName(rawValue: name) else { throw NodeError("Unknown sampler_name '\(name)'") }
        return sampler
    }

    static func schedulerName(_ inv: NodeInvocation) throws -> SchedulerName {
        let name = try inv.string("scheduler")
        guard let scheduler = SchedulerName(rawValue: name) else { throw NodeError("Unknown scheduler '\(name)'") }
        return scheduler
    }

    static func run(_ inv: NodeInvocation, env: NodeEnvironment, settings: KSamplerSettings) throws -> NodeResult {
        let model = try inv.object("model", as: ModelHandle.self)
        let positive = try inv.object("positive", as: Conditioning.self)
        let negative = try inv.object("negative", as: Conditioning.self)
        let latent = try inv.latent("latent_image")
        guard settings.steps >= 1 else { throw NodeError("steps must be at least 1") }
        guard settings.cfg.isFinite, settings.denoise.isFinite else { throw NodeError("cfg and denoise must be finite numbers") }
        let channels = model.latentChannels
        guard latent.samples.shape[1] == channels else {
            throw NodeError("The latent has \(latent.samples.shape[1]) channels; this model takes \(channels)",
                            type: "loom.LatentMismatch")
        }
        for (side, conditioning) in [("positive", positive), ("negative", negative)] {
            for entry in conditioning.entries where entry.cond.shape.last != model.contextDim {
                throw NodeError("The \(side) conditioning is \(entry.cond.shape.last ?? 0) wide; this model expects \(model.contextDim) (was it made by this checkpoint's text encoder?)",
                                type: "loom.ConditioningMismatch")
            }
        }
        try inv.context.checkInterrupted()
        let network: any GuidedNetwork
        do { network = try model.network() } catch { throw NodeError(error, loading: "the diffusion model") }
        let context = inv.context
        let samples = try KSamplerRun.sample(
            network: network, sampling: model.sampling, positive: positive, negative: negative, latent: latent,
            settings: settings, cfgFunction: model.cfgFunction, backend: env.backend,
            progress: { step, total in try context.progress(step, of: total) })
        var out = latent
        out.samples = samples
        return NodeResult(outputs: [.object(out)])
    }
}
