import TensorCore
import TensorNN

/// The LDM autoencoder's residual block without a timestep input: `x + conv2(silu(norm2(conv1(silu(norm1(x))))))`,
/// with a 1×1 `nin_shortcut` on `x` when the channel count changes.
///
/// GroupNorm with 32 groups and ε = 1e-6, swish (SiLU) activations, 3×3 convolutions with padding 1.
struct VAEResnetBlock: Module {
    let norm1: GroupNorm
    let conv1: Conv2d
    let norm2: GroupNorm
    let conv2: Conv2d
    let shortcut: Conv2d?

    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int) {
        norm1 = VAEResnetBlock.normalization(scope("norm1"), channels: inChannels)
        conv1 = Conv2d(scope("conv1"), inChannels: inChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        norm2 = VAEResnetBlock.normalization(scope("norm2"), channels: outChannels)
        conv2 = Conv2d(scope("conv2"), inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        shortcut = inChannels == outChannels
            ? nil : Conv2d(scope("nin_shortcut"), inChannels: inChannels, outChannels: outChannels, kernelSize: 1)
    }

    /// The autoencoder's normalisation layer: 32 groups, ε = 1e-6, affine.
    static func normalization(_ scope: ParameterScope, channels: Int) -> GroupNorm {
        GroupNorm(scope, groups: 32, channels: channels, epsilon: 1e-6)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("norm1", norm1)
        table.add("conv1", conv1)
        table.add("norm2", norm2)
        table.add("conv2", conv2)
        if let shortcut { table.add("nin_shortcut", shortcut) }
        return table.table
    }

    /// `x[B, in, H, W]` → `[B, out, H, W]`. Each intermediate is released as soon as the next one exists.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        var h = norm1(x, then: .silu, backend: backend)
        h = conv1(h, backend: backend)
        h = norm2(h, then: .silu, backend: backend)
        h = conv2(h, backend: backend)
        let skip = shortcut.map { $0(x, backend: backend) } ?? x
        return backend.add(skip, h)
    }
}
