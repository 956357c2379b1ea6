import TensorCore

/// ComfyUI's LATENT: a dictionary with `samples` and, optionally, `noise_mask` and `batch_index`.
///
/// `samples` is `[B, C, H/8, W/8]` float32 in the VAE's space (SD1.x: not multiplied by 0.18215; the
/// sampler applies the latent format's scale on the way in and out). `noiseMask` is `[B or 1, 1, h, w]`
/// at any resolution (resized to the latent's at sampling time); `batchIndex` numbers the items for the
/// initial noise (``ComfyNoise/prepareNoise(shape:seed:batchIndex:kernel:)``).
public struct Latent: Sendable {
    public var samples: Tensor
    public var noiseMask: Tensor?
    public var batchIndex: [Int]?

    public init(samples: Tensor, noiseMask: Tensor? = nil, batchIndex: [Int]? = nil) {
        self.samples = samples
        self.noiseMask = noiseMask
        self.batchIndex = batchIndex
    }

    /// Batch size of ``samples``.
    public var batchSize: Int { samples.shape[0] }
}

extension Tensor {
    /// ComfyUI's `comfy.utils.repeat_to_batch_size`: the first `batch` items, or the whole tensor repeated
    /// along dimension 0 and cut to `batch` items.
    public func repeatedToBatch(_ batch: Int) -> Tensor {
        let n = shape[0]
        if n == batch { return self }
        if n > batch { return slice(batch: 0..<batch) }
        let copies = (batch + n - 1) / n
        let repeated = Tensor.concatenated([Tensor](repeating: self, count: copies), dim: 0)
        return repeated.slice(batch: 0..<batch)
    }
}
