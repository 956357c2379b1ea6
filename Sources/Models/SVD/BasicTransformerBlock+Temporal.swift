import TensorCore
import TensorNN

extension BasicTransformerBlock {
    /// The block as a temporal mixing layer (`time_stack.N` of a ``SpatialVideoTransformer``): the optional
    /// `ff_in`, then self-attention across the frames of each pixel, cross-attention to the video's context
    /// and the feed-forward, each residual.
    ///
    /// The cross-attention context is one per video, shared by all its pixels, so every pixel's frame tokens
    /// of a video attend to it in one attention call of `S·T` queries rather than `S` calls of `T`.
    ///
    /// - Parameters:
    ///   - x: `[B·S, T, C]`: for each video and pixel, its `T` frame tokens (videos major).
    ///   - context: `[B, Lc, contextDim]`, the context of each video.
    /// - Returns: `[B·S, T, C]`.
    func temporal(_ x: Tensor, context: Tensor, backend: some Backend) -> Tensor {
        let (rows, frames, channels) = (x.shape[0], x.shape[1], x.shape[2])
        let videos = context.shape[0]
        precondition(rows % videos == 0, "temporal block: \(rows) pixel rows for \(videos) videos")
        var x = x
        if let feedForwardIn {
            x = backend.add(x, feedForwardIn.feedForward(feedForwardIn.norm(x, backend: backend), backend: backend))
        }
        x = backend.add(x, selfAttention(norm1(x, backend: backend), backend: backend))
        let queries = norm2(x, backend: backend).reshaped([videos, rows / videos * frames, channels])
        let attended = crossAttention(queries, context: context, backend: backend)
        x = backend.add(x, attended.reshaped([rows, frames, channels]))
        return backend.add(x, feedForward(norm3(x, backend: backend), backend: backend))
    }
}
