import TensorCore
import TensorNN

/// The autoencoder's middle block at the lowest resolution: res block, attention, res block (`mid.block_1`,
/// `mid.attn_1`, `mid.block_2`). In SVD's temporal decoder the res blocks are temporal and the attention stays per
/// frame.
struct VAEMidBlock: Module {
    let block1: VAEDecoderBlock
    let attention: VAEAttention
    let block2: VAEDecoderBlock

    init(_ scope: ParameterScope, channels: Int, videoKernel: [Int]? = nil) {
        block1 = VAEDecoderBlock(scope("block_1"), inChannels: channels, outChannels: channels, videoKernel: videoKernel)
        attention = VAEAttention(scope("attn_1"), channels: channels)
        block2 = VAEDecoderBlock(scope("block_2"), inChannels: channels, outChannels: channels, videoKernel: videoKernel)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("block_1", block1)
        table.add("attn_1", attention)
        table.add("block_2", block2)
        return table.table
    }

    /// `x[B, C, h, w]` → `[B, C, h, w]` (`frames` consecutive rows per video for temporal blocks).
    func callAsFunction(_ x: Tensor, frames: Int = 1, backend: some Backend) -> Tensor {
        var h = block1(x, frames: frames, backend: backend)
        h = attention(h, backend: backend)
        return block2(h, frames: frames, backend: backend)
    }
}
