import TensorCore
import TensorNN

/// The temporal decoder's residual block (`VideoResBlock` of ComfyUI's `temporal_ae`): the autoencoder's 2-D
/// ``VAEResnetBlock`` on every frame, then a 3-D ``TemporalResBlock`` (no timestep embedding) across the frames of each video, the two blended
/// with a learned weight: `α · temporal + (1 − α) · spatial`, `α = sigmoid(mix_factor)`.
///
/// Keys: the spatial block's own (`norm1`, `conv1`, …, `nin_shortcut`), `time_stack.…` and `mix_factor` (`[1]`).
struct TemporalResnetBlock: Module {
    let spatial: VAEResnetBlock
    let timeStack: TemporalResBlock
    let mixFactor: Tensor

    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: [Int]) {
        spatial = VAEResnetBlock(scope, inChannels: inChannels, outChannels: outChannels)
        timeStack = TemporalResBlock(scope("time_stack"), channels: outChannels, embeddingDimension: nil, kernelSize: kernelSize)
        mixFactor = scope.tensor("mix_factor", shape: [1])
    }

    var parameters: [String: Tensor] {
        var table = spatial.parameters
        for (key, tensor) in timeStack.parameters { table["time_stack." + key] = tensor }
        table["mix_factor"] = mixFactor
        return table
    }

    /// The blend weight of the temporal branch, `sigmoid(mix_factor)` in float32.
    func alpha(backend: some Backend) -> Float {
        backend.unary(.sigmoid, mixFactor).scalars[0]
    }

    /// `x[B·T, in, H, W]` (`frames` = T consecutive frames per video) → `[B·T, out, H, W]`.
    func callAsFunction(_ x: Tensor, frames: Int, backend: some Backend) -> Tensor {
        let h = spatial(x, backend: backend)
        let temporal = timeStack(VideoLayout.channelsFirst(h, frames: frames, backend: backend), activatedEmbedding: nil,
                                 backend: backend)
        let alpha = alpha(backend: backend)
        // alpha · temporal + (1 − alpha) · h in one pass, the temporal branch read back into the frames-first layout
        // through its strides.
        let framesFirst = VideoLayout.framesFirstView(temporal)
        let blended = backend.weightedSum(framesFirst, alpha, h.reshaped(framesFirst.shape), 1 - alpha)
        return VideoLayout.flatten(blended)
    }
}
