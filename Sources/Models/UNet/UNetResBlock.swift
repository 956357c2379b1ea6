import TensorCore
import TensorNN

/// The UNet's residual block (Ho et al., 2020; Dhariwal & Nichol, "Diffusion Models Beat GANs", 2021,
/// without scale-shift norm):
/// `h = conv₁(SiLU(GroupNorm(x)))`, `h += emb_layers(emb)` per channel,
/// `h = conv₂(SiLU(GroupNorm(h)))` (dropout is the identity at inference), `out = skip(x) + h`, where
/// `skip` is a 1×1 convolution when the channel count changes and the identity otherwise.
struct UNetResBlock: Module {
    let inNorm: GroupNorm
    let inConv: Conv2d
    let embedding: Linear
    let outNorm: GroupNorm
    let outConv: Conv2d
    let skip: Conv2d?

    /// Reads `in_layers.{0,2}`, `emb_layers.1`, `out_layers.{0,3}` and, when the widths differ,
    /// `skip_connection`. Group norms have 32 groups and ε = 1e-5 (`nn.GroupNorm` defaults).
    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, embeddingDimension: Int) {
        inNorm = GroupNorm(scope("in_layers.0"), groups: 32, channels: inChannels, epsilon: 1e-5)
        inConv = Conv2d(scope("in_layers.2"), inChannels: inChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        embedding = Linear(scope("emb_layers.1"), inFeatures: embeddingDimension, outFeatures: outChannels)
        outNorm = GroupNorm(scope("out_layers.0"), groups: 32, channels: outChannels, epsilon: 1e-5)
        outConv = Conv2d(scope("out_layers.3"), inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: 1)
        skip = inChannels == outChannels
            ? nil
            : Conv2d(scope("skip_connection"), inChannels: inChannels, outChannels: outChannels, kernelSize: 1)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("in_layers.0", inNorm)
        table.add("in_layers.2", inConv)
        table.add("emb_layers.1", embedding)
        table.add("out_layers.0", outNorm)
        table.add("out_layers.3", outConv)
        if let skip { table.add("skip_connection", skip) }
        return table.table
    }

    /// `x[B, in, H, W]` → `[B, out, H, W]`.
    ///
    /// - Parameter activatedEmbedding: `SiLU(emb)` `[B, embeddingDimension]`; the SiLU that opens
    ///   `emb_layers` is the same for every block, so the caller applies it once.
    func callAsFunction(_ x: Tensor, activatedEmbedding: Tensor, backend: some Backend) -> Tensor {
        var h = inNorm(x, then: .silu, backend: backend)
        h = inConv(h, backend: backend)
        let shift = embedding(activatedEmbedding, backend: backend)  // [B, out]
        h = backend.add(h, shift.reshaped([shift.shape[0], shift.shape[1], 1, 1]))
        h = outNorm(h, then: .silu, backend: backend)
        h = outConv(h, backend: backend)
        return backend.add(skip.map { $0(x, backend: backend) } ?? x, h)
    }
}
