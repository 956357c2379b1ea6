import TensorCore
import TensorNN

/// The temporal decoder's middle block: temporal res block, the autoencoder's spatial attention (per frame),
/// temporal res block (`mid.block_1`, `mid.attn_1`, `mid.block_2`).
struct VideoMidBlock: Module {
    let block1: TemporalResnetBlock
    let attention: VAEAttention
    let block2: TemporalResnetBlock

    init(_ scope: ParameterScope, channels: Int, kernelSize: [Int]) {
        block1 = TemporalResnetBlock(scope("block_1"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
        attention = VAEAttention(scope("attn_1"), channels: channels)
        block2 = TemporalResnetBlock(scope("block_2"), inChannels: channels, outChannels: channels, kernelSize: kernelSize)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("block_1", block1)
        table.add("attn_1", attention)
        table.add("block_2", block2)
        return table.table
    }

    func callAsFunction(_ x: Tensor, frames: Int, backend: some Backend) -> Tensor {
        var h = block1(x, frames: frames, backend: backend)
        h = attention(h, backend: backend)
        return block2(h, frames: frames, backend: backend)
    }
}
