import TensorCore

/// ComfyUI's `BrownianTreeNoiseSampler` as its SDE samplers build it on the CPU: one ``BrownianTree`` over
/// [σ_min, σ_max] seeded with the KSampler seed, whose increment between two sigmas, divided by the square root of
/// their distance, is a standard normal draw (ComfyUI 0.3.64, `comfy/k_diffusion/sampling.py`).
///
/// With a single seed (what KSampler passes) the whole batch shares one tree of the latent's full shape. Sigmas
/// are float32 as in ComfyUI; the tree sees them widened to double. `_gpu` sampler variants build the tree on the
/// latent's device, which on a CPU-only ComfyUI is this same tree.
public struct BrownianTreeNoiseSampler: Sendable {
    /// The element count of every draw.
    public var count: Int { tree.count }
    private var tree: BrownianTree
    /// -1 when the tree was built with its ends swapped (σ_min ≥ σ_max).
    private let sign: Float

    /// `BrownianTreeNoiseSampler(x, sigma_min, sigma_max, seed=seed, cpu=True)` for a latent with `shape`.
    public init(sigmaMin: Float, sigmaMax: Float, shape: [Int], seed: UInt64, kernel: TorchGenerator.Kernel = .avx2) {
        let (t0, t1, sign) = BrownianTreeNoiseSampler.sorted(sigmaMin, sigmaMax)
        self.sign = sign
        self.tree = BrownianTree(t0: Double(t0), t1: Double(t1), count: shape.reduce(1, *), entropy: seed,
                                 kernel: kernel)
    }

    /// The sampler the SDE samplers build for a schedule: σ_min is the smallest positive sigma, σ_max the
    /// largest. `nil` when no sigma is positive (ComfyUI would fail; such a schedule never draws noise).
    public init?(sigmas: [Float], shape: [Int], seed: UInt64, kernel: TorchGenerator.Kernel = .avx2) {
        guard let sigmaMin = sigmas.filter({ $0 > 0 }).min(), let sigmaMax = sigmas.max() else { return nil }
        self.init(sigmaMin: sigmaMin, sigmaMax: sigmaMax, shape: shape, seed: seed, kernel: kernel)
    }

    /// The noise for a step from `sigma` to `sigmaNext`: ``increment(_:_:)`` over `sqrt(|sigmaNext − sigma|)`, in
    /// float32 (NaN when the two are equal, as in ComfyUI).
    ///
    /// The square root is correctly rounded. torch evaluates it with its vectorised math library, which on some
    /// machines is one ulp off for a fraction of inputs; the draw then differs from ComfyUI's by at most about one
    /// ulp per element (the increment itself is exact).
    public mutating func callAsFunction(_ sigma: Float, _ sigmaNext: Float) -> [Float] {
        BrownianTreeNoiseSampler.normalise(increment(sigma, sigmaNext), scale: (sigmaNext - sigma).magnitude.squareRoot())
    }

    /// The signed Brownian increment `W(sigmaNext) − W(sigma)` (ComfyUI's `BatchedBrownianTree(sigma, sigmaNext)`),
    /// bit for bit.
    public mutating func increment(_ sigma: Float, _ sigmaNext: Float) -> [Float] {
        let (ta, tb, querySign) = BrownianTreeNoiseSampler.sorted(sigma, sigmaNext)
        var w = tree.increment(from: Double(ta), to: Double(tb))
        let factor = sign * querySign
        for i in w.indices { w[i] *= factor }
        return w
    }

    /// `increment / scale` elementwise (float32 division, as torch's).
    public static func normalise(_ increment: [Float], scale: Float) -> [Float] {
        increment.map { $0 / scale }
    }

    /// ComfyUI's `BatchedBrownianTree.sort`: ascending order and the sign of the swap (equal values count as
    /// swapped).
    private static func sorted(_ a: Float, _ b: Float) -> (Float, Float, Float) {
        a < b ? (a, b, 1) : (b, a, -1)
    }
}
