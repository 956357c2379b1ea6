import TensorCore
import TensorNN

/// Halves the resolution with a 3×3 convolution of stride 2 and padding 1 (`op`): `H → ⌈H/2⌉`.
struct UNetDownsample: Module {
    let op: Conv2d

    init(_ scope: ParameterScope, channels: Int) {
        op = Conv2d(scope("op"), inChannels: channels, outChannels: channels, kernelSize: 3, stride: 2, padding: 1)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("op", op)
        return table.table
    }

    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        op(x, backend: backend)
    }
}

/// Doubles the resolution by nearest-neighbour resampling, then a 3×3 convolution (`conv`).
///
/// The target size is normally twice the input; when the skip tensor the next output block concatenates
/// has another size (an input side that halved an odd size, `⌈H/2⌉`), the resampling goes to that size
/// instead, as the reference does with its `output_shape`.
struct UNetUpsample: Module {
    let conv: Conv2d

    init(_ scope: ParameterScope, channels: Int) {
        conv = Conv2d(scope("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("conv", conv)
        return table.table
    }

    /// - Parameter size: the output height and width; `2H × 2W` when nil.
    func callAsFunction(_ x: Tensor, size: (height: Int, width: Int)?, backend: some Backend) -> Tensor {
        let target = size ?? (x.shape[2] * 2, x.shape[3] * 2)
        return conv(backend.interpolate(x, size: target, mode: .nearest), backend: backend)
    }
}
