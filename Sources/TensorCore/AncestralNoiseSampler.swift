/// The noise source of ComfyUI's ancestral and other stochastic k-diffusion samplers on the CPU
/// (`euler_ancestral`, `dpm_2_ancestral`, `dpmpp_2s_ancestral`, `lcm`, `ddpm`, …).
///
/// k-diffusion's `default_noise_sampler(x, seed)` creates a **new** generator seeded with the sampler's seed and
/// returns `randn(x.shape)` from it at every call. On the CPU that is the same MT19937 stream as the initial
/// noise, so the first call equals ``ComfyNoise/prepareNoise(shape:seed:batchIndex:kernel:)`` without
/// `batch_index` bit for bit, the second call is the next `randn` of that stream, and so on. (On a GPU ComfyUI
/// would use CUDA's Philox instead; the SDE samplers' Brownian-tree noise is not covered.)
public struct AncestralNoiseSampler: Sendable {
    /// The element count of every draw (the product of `x.shape`).
    public let count: Int
    private var generator: TorchGenerator

    /// A sampler for latents with `shape`, seeded like `default_noise_sampler(x, seed)`.
    public init(shape: [Int], seed: UInt64, kernel: TorchGenerator.Kernel = .avx2) {
        precondition(shape.allSatisfy { $0 >= 0 }, "AncestralNoiseSampler: bad shape \(shape)")
        self.count = shape.reduce(1, *)
        self.generator = TorchGenerator(seed: seed, kernel: kernel)
    }

    /// The next step's noise: `randn(shape)` from the sampler's own generator.
    public mutating func next() -> [Float] {
        generator.randn(count: count)
    }

    /// Writes the next step's noise into `output` (`output.count` must equal ``count``), without allocating.
    public mutating func next(into output: UnsafeMutableBufferPointer<Float>) {
        precondition(output.count == count, "AncestralNoiseSampler: buffer of \(output.count), need \(count)")
        generator.randn(into: output)
    }
}
