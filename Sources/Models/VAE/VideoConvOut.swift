import TensorCore
import TensorNN

/// The temporal decoder's output convolution (`AE3DConv`): the 3×3 `conv_out` on every frame, then
/// `time_mix_conv`, a 3-D convolution across the frames of each video.
struct VideoConvOut: Module {
    let conv: Conv2d
    let timeMix: Conv3d

    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: [Int]) {
        conv = Conv2d(scope, inChannels: inChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        timeMix = Conv3d(scope("time_mix_conv"), inChannels: outChannels, outChannels: outChannels, kernelSize: kernelSize)
    }

    var parameters: [String: Tensor] {
        var table = conv.parameters
        for (key, tensor) in timeMix.parameters { table["time_mix_conv." + key] = tensor }
        return table
    }

    /// `x[B·T, in, H, W]` → `[B·T, out, H, W]`.
    func callAsFunction(_ x: Tensor, frames: Int, backend: some Backend) -> Tensor {
        let h = conv(x, backend: backend)
        let mixed = timeMix(VideoLayout.channelsFirst(h, frames: frames, backend: backend), backend: backend)
        return VideoLayout.framesFirst(mixed, backend: backend)
    }
}
