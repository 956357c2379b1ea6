import TensorCore
import TensorNN

/// The LDM autoencoder's single-head spatial self-attention (`AttnBlock`): GroupNorm, 1×1 convolutions for
/// query, key and value, attention over all `H·W` positions with the channels as the head dimension
/// (scale `1/√C`), a 1×1 output projection and a residual connection.
///
/// The attention runs as one backend ``Backend/attention(query:key:value:mask:scale:)`` call on
/// `[B, 1, H·W, C]` views, so the backend decides how to bound the score buffer (the CPU backend chunks
/// queries); a 64×64 latent is 4096 tokens.
struct VAEAttention: Module {
    let norm: GroupNorm
    let query: Conv2d
    let key: Conv2d
    let value: Conv2d
    let projection: Conv2d

    init(_ scope: ParameterScope, channels: Int) {
        norm = VAEResnetBlock.normalization(scope("norm"), channels: channels)
        query = Conv2d(scope("q"), inChannels: channels, outChannels: channels, kernelSize: 1)
        key = Conv2d(scope("k"), inChannels: channels, outChannels: channels, kernelSize: 1)
        value = Conv2d(scope("v"), inChannels: channels, outChannels: channels, kernelSize: 1)
        projection = Conv2d(scope("proj_out"), inChannels: channels, outChannels: channels, kernelSize: 1)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("norm", norm)
        table.add("q", query)
        table.add("k", key)
        table.add("v", value)
        table.add("proj_out", projection)
        return table.table
    }

    /// `x[B, C, H, W]` → `[B, C, H, W]`.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        let (b, c, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = height * width
        let attended: Tensor
        do {
            let h = norm(x, backend: backend)
            /// `[B, C, H, W]` as the `[B, 1, H·W, C]` view the attention reads.
            func sequence(_ t: Tensor) -> Tensor { t.reshaped([b, 1, c, tokens]).transposed(2, 3) }
            let q = sequence(query(h, backend: backend))
            let k = sequence(key(h, backend: backend))
            let v = sequence(value(h, backend: backend))
            attended = backend.attention(query: q, key: k, value: v, mask: nil, scale: nil)  // [B, 1, H·W, C]
        }
        let channelsFirst = backend.contiguous(attended.transposed(2, 3)).reshaped([b, c, height, width])
        return backend.add(x, projection(channelsFirst, backend: backend))
    }
}
