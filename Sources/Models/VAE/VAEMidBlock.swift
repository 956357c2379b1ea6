import TensorCore
import TensorNN

/// The autoencoder's middle block at the lowest resolution: res block, attention, res block (`mid.block_1`,
/// `mid.attn_1`, `mid.block_2`).
struct VAEMidBlock: Module {
    let block1: VAEResnetBlock
    let attention: VAEAttention
    let block2: VAEResnetBlock

    init(_ scope: ParameterScope, channels: Int) {
        block1 = VAEResnetBlock(scope("block_1"), inChannels: channels, outChannels: channels)
        attention = VAEAttention(scope("attn_1"), channels: channels)
        block2 = VAEResnetBlock(scope("block_2"), inChannels: channels, outChannels: channels)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("block_1", block1)
        table.add("attn_1", attention)
        table.add("block_2", block2)
        return table.table
    }

    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        var h = block1(x, backend: backend)
        h = attention(h, backend: backend)
        return block2(h, backend: backend)
    }
}
