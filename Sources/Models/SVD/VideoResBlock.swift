import Checkpoints
import TensorCore
import TensorNN

/// The video UNet's residual block (ComfyUI's `VideoResBlock`): the image UNet's res block on each frame,
/// then a ``TemporalResBlock`` across the frames of each video, the two mixed by an ``AlphaBlender``.
///
/// The temporal block's input is the spatial output `h` and its skip path is the identity, so the mix
/// `α·h + (1 − α)·(h + r)` is computed as `h + (1 − α)·r` with `r` the temporal residual branch.
struct VideoResBlock: Module {
    let spatial: UNetResBlock
    let temporal: TemporalResBlock
    let mixer: AlphaBlender

    /// Reads the spatial block's keys under `scope`, then `time_stack` and `time_mixer`.
    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, embeddingDimension: Int,
         configuration c: VideoUNetConfiguration) {
        spatial = UNetResBlock(scope, inChannels: inChannels, outChannels: outChannels, embeddingDimension: embeddingDimension)
        temporal = TemporalResBlock(scope("time_stack"), channels: outChannels, embeddingDimension: embeddingDimension,
                                    kernelSize: c.videoKernelSize)
        mixer = AlphaBlender(scope("time_mixer"), strategy: c.mergeStrategy)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        for (key, tensor) in spatial.parameters { table.add(key, tensor) }
        table.add("time_stack", temporal)
        table.add("time_mixer", mixer)
        return table.table
    }

    /// `x[B·T, in, H, W]` (the `T` frames of each video consecutive) → `[B·T, out, H, W]`.
    ///
    /// - Parameter activatedEmbedding: `SiLU(emb)` `[B·T, embeddingDimension]`.
    func callAsFunction(_ x: Tensor, activatedEmbedding: Tensor, frames: Int, backend: some Backend) -> Tensor {
        let h = spatial(x, activatedEmbedding: activatedEmbedding, backend: backend)
        let (rows, channels, height, width) = (h.shape[0], h.shape[1], h.shape[2], h.shape[3])
        let videos = rows / frames
        // [B·T, C, H, W] → [B, C, T, H, W].
        let video = backend.contiguous(h.reshaped([videos, frames, channels, height, width]).permuted([0, 2, 1, 3, 4]))
        let r = temporal.residual(video, activatedEmbedding: activatedEmbedding, backend: backend)
        // (1 − α)·r back in frame-major order [B, T, C, H, W].
        let mixed = backend.affine(r.permuted([0, 2, 1, 3, 4]), scale: 1 - mixer.alpha, shift: 0)
        return backend.add(h, mixed.reshaped([rows, channels, height, width]))
    }
}
