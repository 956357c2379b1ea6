import TensorCore
import TensorNN

/// Doubles the resolution: nearest-neighbour 2× interpolation, then a 3×3 convolution with padding 1 (the LDM
/// decoder's `Upsample`).
struct VAEUpsample: Module {
    let conv: Conv2d

    init(_ scope: ParameterScope, channels: Int) {
        conv = Conv2d(scope("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("conv", conv)
        return table.table
    }

    /// `x[B, C, H, W]` → `[B, C, 2H, 2W]`.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        let doubled = backend.interpolate(x, size: (x.shape[2] * 2, x.shape[3] * 2), mode: .nearest)
        return conv(doubled, backend: backend)
    }
}
