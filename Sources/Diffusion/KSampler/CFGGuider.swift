import Models
import TensorCore

/// The denoiser a sampler calls for SD1.x models: ComfyUI's `CFGGuider` around `BaseModel.apply_model`.
///
/// For each call it runs the positive and negative conditioning entries through the UNet (as one batch
/// when their contexts can be concatenated, as ComfyUI's `calc_cond_batch` does), turns the UNet output
/// into a denoised prediction with the model sampling's parameterisation, averages the entries of each
/// side, and mixes them with `uncond + (cond − uncond) · cfg`. With cfg = 1 the negative side is not
/// computed (ComfyUI's "cfg1 optimisation").
public struct CFGGuider: Sendable {
    public let unet: SD1UNet
    public let sampling: ModelSamplingDiscrete
    public let positive: Conditioning
    public let negative: Conditioning
    public let cfg: Double
    public let backend: any Backend

    public init(unet: SD1UNet, sampling: ModelSamplingDiscrete, positive: Conditioning, negative: Conditioning, cfg: Double,
                backend: any Backend) {
        self.unet = unet
        self.sampling = sampling
        self.positive = positive
        self.negative = negative
        self.cfg = cfg
        self.backend = backend
    }

    /// Whether the negative side is skipped: `math.isclose(cfg, 1.0)` (relative tolerance 1e-9).
    public var skipsNegative: Bool { abs(cfg - 1) <= 1e-9 * max(1, abs(cfg)) }

    /// One denoiser call: `x[B, C, h, w]` at noise level `sigma` → the guided denoised latent.
    public func denoise(_ x: Tensor, sigma: Float) -> Tensor {
        let batch = x.shape[0]
        // ComfyUI queues every positive entry, then every negative one, and batches them in reverse order.
        var runs: [(context: Tensor, positive: Bool)] = positive.entries.map { ($0.cond.repeatedToBatch(batch), true) }
        if !skipsNegative { runs += negative.entries.map { ($0.cond.repeatedToBatch(batch), false) } }
        runs.reverse()

        var positiveSum: Tensor? = nil, negativeSum: Tensor? = nil
        var positiveCount = 0, negativeCount = 0
        var start = 0
        while start < runs.count {
            // The longest run of entries whose contexts concatenate (ComfyUI pads by repetition up to 4×).
            var end = start + 1
            var length = runs[start].context.shape[1]
            while end < runs.count, let joined = Self.concatenatedLength(length, runs[end].context.shape[1]),
                  runs[end].context.shape[2] == runs[start].context.shape[2] {
                length = joined
                end += 1
            }
            let group = runs[start..<end]
            let contexts = group.map { Self.padded($0.context, to: length) }
            let input = group.count == 1 ? x : Tensor.concatenated([Tensor](repeating: x, count: group.count), dim: 0)
            let context = contexts.count == 1 ? contexts[0] : Tensor.concatenated(contexts, dim: 0)
            let denoised = applyModel(input, sigma: sigma, context: context)
            for (i, run) in group.enumerated() {
                let part = group.count == 1 ? denoised : denoised.slice(batch: (i * batch)..<((i + 1) * batch))
                if run.positive {
                    positiveSum = positiveSum.map { backend.add($0, part) } ?? part
                    positiveCount += 1
                } else {
                    negativeSum = negativeSum.map { backend.add($0, part) } ?? part
                    negativeCount += 1
                }
            }
            start = end
        }
        // ComfyUI divides the weighted sum by the summed weights (plus 1e-37): exact for one entry.
        func average(_ sum: Tensor?, _ count: Int) -> Tensor {
            guard let sum else { return Tensor(zeros: x.shape) }
            return count == 1 ? backend.contiguous(sum) : backend.affine(sum, scale: 1 / Float(count), shift: 0)
        }
        let cond = average(positiveSum, positiveCount)
        let uncond = average(negativeSum, negativeCount)
        // uncond + (cond − uncond) · cfg
        let difference = backend.binary(.subtract, cond, uncond)
        return backend.add(uncond, backend.affine(difference, scale: Float(cfg), shift: 0))
    }

    /// `BaseModel.apply_model`: `x` scaled by the model sampling's input scaling, the UNet at `timestep(σ)`,
    /// and the output turned into a denoised prediction.
    public func applyModel(_ x: Tensor, sigma: Float, context: Tensor) -> Tensor {
        let input = sampling.calculateInput(sigma: sigma, x)
        let timestep = sampling.timestep(sigma)
        let output = unet(input, timesteps: [Float](repeating: timestep, count: x.shape[0]), context: context, backend: backend)
        return sampling.calculateDenoised(sigma: sigma, output: output, input: x)
    }

    /// The common length of two contexts that ComfyUI's `CONDCrossAttn` concatenates (their least common
    /// multiple, when that is at most 4× the shorter), or nil.
    static func concatenatedLength(_ a: Int, _ b: Int) -> Int? {
        if a == b { return a }
        func gcd(_ x: Int, _ y: Int) -> Int { y == 0 ? x : gcd(y, x % y) }
        let lcm = a / gcd(a, b) * b
        return lcm / min(a, b) > 4 ? nil : lcm
    }

    /// `context` repeated along its token dimension up to `length` tokens (attention over repeated keys and
    /// values gives the same result).
    static func padded(_ context: Tensor, to length: Int) -> Tensor {
        let tokens = context.shape[1]
        guard tokens < length else { return context }
        return Tensor.concatenated([Tensor](repeating: context, count: length / tokens), dim: 1)
    }
}
