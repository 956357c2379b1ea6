/// ComfyUI's CPU noise, as pure functions of the seed (ComfyUI 0.3.64, `comfy/sample.py`).
///
/// Spec: `shared/spec/torch-rng.md` §5. All noise is float32 from ``TorchGenerator``; only `seed mod 2^32` matters.
public enum ComfyNoise {
    /// `comfy.sample.prepare_noise(latent, seed, batch_index)`: the initial noise of KSampler / KSamplerAdvanced.
    ///
    /// Without `batchIndex`, one `randn(shape)` from a generator seeded with `seed` (batch item k gets values
    /// k·C·H·W ..< (k+1)·C·H·W of that single call). With `batchIndex`, draws `randn([1, C, H, W])` separately for
    /// i = 0 ... max(batchIndex) from the same generator (each draw follows its own 16-value tail rule) and gives
    /// item k draw number `batchIndex[k]` (repeats allowed).
    ///
    /// - Parameters:
    ///   - shape: the latent's shape `[B, C, ...]`; only the leading (batch) dimension is treated specially.
    ///   - seed: the KSampler seed (0 ... 2^64 − 1).
    ///   - batchIndex: the latent's `batch_index`, or `nil`; its count must equal `shape[0]`.
    ///   - kernel: torch's CPU kernel to reproduce (default: the x86-64 AVX2 kernel).
    /// - Returns: the noise, row-major with `shape`'s element count.
    public static func prepareNoise(
        shape: [Int], seed: UInt64, batchIndex: [Int]?, kernel: TorchGenerator.Kernel = .avx2
    ) -> [Float] {
        precondition(!shape.isEmpty && shape.allSatisfy { $0 >= 0 }, "prepareNoise: bad shape \(shape)")
        var generator = TorchGenerator(seed: seed, kernel: kernel)
        guard let batchIndex else { return generator.randn(count: shape.reduce(1, *)) }
        precondition(batchIndex.count == shape[0], "prepareNoise: batch_index \(batchIndex) does not match \(shape)")
        precondition(batchIndex.allSatisfy { $0 >= 0 }, "prepareNoise: negative batch_index in \(batchIndex)")
        let itemCount = shape.dropFirst().reduce(1, *)
        guard let last = batchIndex.max() else { return [] }
        var draws: [Int: [Float]] = [:]
        let wanted = Set(batchIndex)
        for i in 0...last {
            let draw = generator.randn(count: itemCount)
            if wanted.contains(i) { draws[i] = draw }
        }
        var noise: [Float] = []
        noise.reserveCapacity(itemCount * batchIndex.count)
        for index in batchIndex { noise += draws[index]! }
        return noise
    }
}
