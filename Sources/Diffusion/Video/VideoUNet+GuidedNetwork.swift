import Models
import TensorCore

extension VideoUNet: GuidedNetwork {
    /// SVD's extra inputs (`c_concat`, `y`, the image-embedding context) have the same shapes for every entry,
    /// so entries always share a batch, as ComfyUI's `can_concat` finds.
    public func canBatch(_ next: Conditioning.Entry, with group: [Conditioning.Entry]) -> Bool {
        guard let first = group.first else { return false }
        return next.cond.shape.dropFirst() == first.cond.shape.dropFirst()
    }

    /// `apply_model` for `SVD_img2vid`: each entry's concat latent joins the input's channels, its image
    /// embedding is the cross-attention context and its fps / motion / augmentation vector is `y`; the batch is
    /// one video of `input.shape[0]` frames per entry.
    public func output(_ input: Tensor, timestep: Float, group: [Conditioning.Entry], backend: any Backend) -> Tensor {
        let frames = input.shape[0]
        var inputs: [Tensor] = [], contexts: [Tensor] = [], vectors: [Tensor] = []
        for entry in group {
            let concat = SVDConditioning.concatLatent(entry.concatLatentImage, noiseShape: input.shape, backend: backend)
            inputs.append(Tensor.concatenated([backend.contiguous(input), backend.contiguous(concat)], dim: 1))
            contexts.append(backend.contiguous(entry.cond.repeatedToBatch(frames)))
            vectors.append(SVDConditioning.adm(entry.video ?? VideoConditioning()).repeatedToBatch(frames))
        }
        func joined(_ parts: [Tensor]) -> Tensor { parts.count == 1 ? parts[0] : Tensor.concatenated(parts, dim: 0) }
        let x = joined(inputs)
        return self(x, timesteps: [Float](repeating: timestep, count: x.shape[0]), context: joined(contexts),
                    y: joined(vectors), numFrames: frames, backend: backend)
    }
}
