import TensorCore

/// The two layouts of a batch of videos in the temporal decoder: frames-first `[B·T, C, H, W]` (the frames of each
/// video consecutive, what the 2-D layers run on) and channels-first `[B, C, T, H, W]` (what the 3-D layers run on),
/// einops' `(b t) c h w <-> b c t h w`.
enum VideoLayout {
    /// `x[B·T, C, H, W]` as a `[B, C, T, H, W]` view (no copy).
    static func channelsFirstView(_ x: Tensor, frames: Int) -> Tensor {
        precondition(x.rank == 4 && frames >= 1 && x.shape[0] % frames == 0,
                     "video layout: \(x.shape) is not [B·\(frames), C, H, W]")
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        return x.reshaped([x.shape[0] / frames, frames, c, h, w]).permuted([0, 2, 1, 3, 4])
    }

    /// `x[B·T, C, H, W]` as a dense `[B, C, T, H, W]`.
    static func channelsFirst(_ x: Tensor, frames: Int, backend: some Backend) -> Tensor {
        backend.contiguous(channelsFirstView(x, frames: frames))
    }

    /// `x[B, C, T, H, W]` as a `[B, T, C, H, W]` view (no copy); ``framesFirst(_:backend:)`` flattens it.
    static func framesFirstView(_ x: Tensor) -> Tensor {
        precondition(x.rank == 5, "video layout: \(x.shape) is not [B, C, T, H, W]")
        return x.permuted([0, 2, 1, 3, 4])
    }

    /// `x[B, C, T, H, W]` as a dense `[B·T, C, H, W]`.
    static func framesFirst(_ x: Tensor, backend: some Backend) -> Tensor {
        flatten(backend.contiguous(framesFirstView(x)))
    }

    /// A dense `[B, T, C, H, W]` as `[B·T, C, H, W]`.
    static func flatten(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape[0] * x.shape[1], x.shape[2], x.shape[3], x.shape[4]])
    }
}
