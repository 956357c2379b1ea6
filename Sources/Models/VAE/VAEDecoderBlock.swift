import TensorCore
import TensorNN

/// A res block of the autoencoder's middle and decoder levels: the image autoencoder's ``VAEResnetBlock``, or
/// Stable Video Diffusion's ``TemporalResnetBlock`` (the same block per frame, then mixed across the frames of a
/// video) when the configuration has a video kernel.
enum VAEDecoderBlock: Module {
    case image(VAEResnetBlock)
    case video(TemporalResnetBlock)

    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, videoKernel: [Int]?) {
        if let videoKernel {
            self = .video(TemporalResnetBlock(scope, inChannels: inChannels, outChannels: outChannels, kernelSize: videoKernel))
        } else {
            self = .image(VAEResnetBlock(scope, inChannels: inChannels, outChannels: outChannels))
        }
    }

    var parameters: [String: Tensor] {
        switch self {
        case .image(let block): block.parameters
        case .video(let block): block.parameters
        }
    }

    /// `x[B, in, H, W]` → `[B, out, H, W]`; a video block treats each `frames` consecutive rows as one video.
    func callAsFunction(_ x: Tensor, frames: Int, backend: some Backend) -> Tensor {
        switch self {
        case .image(let block): block(x, backend: backend)
        case .video(let block): block(x, frames: frames, backend: backend)
        }
    }
}
