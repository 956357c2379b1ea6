import TensorCore

/// A replacement for the guidance formula that a MODEL carries (ComfyUI's `sampler_cfg_function`, set by
/// `VideoLinearCFGGuidance` and `VideoTriangleCFGGuidance`): the scale varies along the batch, which for a
/// video is the frame axis.
public enum CFGFunction: Sendable, Equatable {
    /// Scale `linspace(minCFG, cfg, batch)[b]` for batch row `b`.
    case linear(minCFG: Double)
    /// Scale rising from `minCFG` at the ends to `cfg` in the middle row: with `v = linspace(0, 1, batch)`,
    /// `2·|v − floor(v + 0.5)|·(cfg − minCFG) + minCFG`.
    case triangle(minCFG: Double)

    /// The per-row scales for a batch of `batch` rows and the sampler's cfg (float32, as torch computes them).
    public func scales(batch: Int, cfg: Double) -> [Float] {
        switch self {
        case .linear(let minCFG):
            return TorchLinspace.float32(Float(minCFG), Float(cfg), batch)
        case .triangle(let minCFG):
            let values = TorchLinspace.float32(0, 1, batch)
            return values.map { v in
                let wave = 2 * Swift.abs(v - (v + 0.5).rounded(.down))
                return wave * Float(cfg - minCFG) + Float(minCFG)
            }
        }
    }

    /// ComfyUI's `cfg_function` with a `sampler_cfg_function`: the function sees `cond = x − cond_pred` and
    /// `uncond = x − uncond_pred` and its result `r = uncond + s·(cond − uncond)` is returned as `x − r`.
    ///
    /// - Parameters: `x`, `cond`, `uncond` are `[B, C, h, w]`.
    public func apply(x: Tensor, cond: Tensor, uncond: Tensor, cfg: Double, backend: any Backend) -> Tensor {
        let batch = x.shape[0]
        let scale = Tensor(shape: [batch, 1, 1, 1], scalars: scales(batch: batch, cfg: cfg))
        let condNoise = backend.binary(.subtract, x, cond)
        let uncondNoise = backend.binary(.subtract, x, uncond)
        let mixed = backend.add(uncondNoise, backend.multiply(scale, backend.binary(.subtract, condNoise, uncondNoise)))
        return backend.binary(.subtract, x, mixed)
    }
}
