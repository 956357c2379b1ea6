import Models
import TensorCore

/// The denoiser a sampler calls: ComfyUI's `CFGGuider` around `BaseModel.apply_model`.
///
/// For each call it runs the positive and negative conditioning entries through the network (as one batch
/// when the network can batch them, as ComfyUI's `calc_cond_batch` does), turns the network output into a
/// denoised prediction with the model sampling's parameterisation, averages the entries of each side, and
/// mixes them with `uncond + (cond − uncond) · cfg`, or with the MODEL's ``CFGFunction``. With cfg = 1 the
/// negative side is not computed (ComfyUI's "cfg1 optimisation"; the uncond prediction is then zero).
public struct CFGGuider: Sendable {
    public let network: any GuidedNetwork
    public let sampling: ModelSampling
    public let positive: Conditioning
    public let negative: Conditioning
    public let cfg: Double
    public let cfgFunction: CFGFunction?
    public let backend: any Backend

    public init(network: any GuidedNetwork, sampling: ModelSampling, positive: Conditioning, negative: Conditioning,
                cfg: Double, cfgFunction: CFGFunction? = nil, backend: any Backend) {
        self.network = network
        self.sampling = sampling
        self.positive = positive
        self.negative = negative
        self.cfg = cfg
        self.cfgFunction = cfgFunction
        self.backend = backend
    }

    /// Whether the negative side is skipped: `math.isclose(cfg, 1.0)` (relative tolerance 1e-9).
    public var skipsNegative: Bool { abs(cfg - 1) <= 1e-9 * max(1, abs(cfg)) }

    /// One denoiser call: `x[B, C, h, w]` at noise level `sigma` → the guided denoised latent.
    public func denoise(_ x: Tensor, sigma: Float) -> Tensor {
        // Areas, masks, strengths and timestep ranges take ComfyUI's general path (a weighted sum per position).
        if positive.hasRegionalOptions || negative.hasRegionalOptions { return denoiseRegional(x, sigma: sigma) }
        // ComfyUI queues every positive entry, then every negative one, and batches them in reverse order.
        var runs: [(entry: Conditioning.Entry, positive: Bool)] = positive.entries.map { ($0, true) }
        if !skipsNegative { runs += negative.entries.map { ($0, false) } }
        runs.reverse()

        let batch = x.shape[0]
        let input = sampling.calculateInput(sigma: sigma, x)
        let timestep = sampling.timestep(sigma)
        var positiveSum: Tensor? = nil, negativeSum: Tensor? = nil
        var positiveCount = 0, negativeCount = 0
        var start = 0
        while start < runs.count {
            var end = start + 1
            while end < runs.count, network.canBatch(runs[end].entry, with: runs[start..<end].map(\.entry)) { end += 1 }
            let group = runs[start..<end]
            let output = network.output(input, timestep: timestep, group: group.map(\.entry), backend: backend)
            let denoised = sampling.calculateDenoised(
                sigma: sigma, output: output,
                input: group.count == 1 ? x : Tensor.concatenated([Tensor](repeating: x, count: group.count), dim: 0))
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
        return combine(x: x, cond: average(positiveSum, positiveCount), uncond: average(negativeSum, negativeCount))
    }

    /// The guided prediction from the two sides' denoised estimates.
    func combine(x: Tensor, cond: Tensor, uncond: Tensor) -> Tensor {
        if let cfgFunction {
            return cfgFunction.apply(x: x, cond: cond, uncond: uncond, cfg: cfg, backend: backend)
        }
        // uncond + (cond − uncond) · cfg
        let difference = backend.binary(.subtract, cond, uncond)
        return backend.add(uncond, backend.affine(difference, scale: Float(cfg), shift: 0))
    }
}
