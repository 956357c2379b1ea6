import Checkpoints
import TensorCore
import TensorNN

/// The ViT input tokens (Dosovitskiy et al., "An Image is Worth 16x16 Words", 2021): non-overlapping
/// patches projected by a strided convolution, a learned class token in front, learned position
/// embeddings added.
struct CLIPVisionEmbeddings: Module {
    /// `[width]`.
    let classEmbedding: Tensor
    /// `[width, channels, patch, patch]`, stride `patch`, no bias.
    let patchEmbedding: Conv2d
    /// `[tokens, width]`.
    let positionEmbedding: Tensor

    /// Reads `class_embedding`, `patch_embedding.weight` and `position_embedding.weight`.
    init(_ scope: ParameterScope, configuration c: CLIPVisionConfiguration) {
        classEmbedding = scope.tensor("class_embedding", shape: [c.hiddenSize])
        patchEmbedding = Conv2d(scope("patch_embedding"), inChannels: c.numChannels, outChannels: c.hiddenSize,
                                kernelSize: c.patchSize, stride: c.patchSize, bias: false)
        positionEmbedding = scope.tensor("position_embedding.weight", shape: [c.sequenceLength, c.hiddenSize])
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("class_embedding", classEmbedding)
        table.add("patch_embedding", patchEmbedding)
        table.add("position_embedding.weight", positionEmbedding)
        return table.table
    }

    /// `pixels[B, channels, size, size]` → `[B, 1 + patches, width]`.
    func callAsFunction(_ pixels: Tensor, backend: some Backend) -> Tensor {
        let patches = patchEmbedding(pixels, backend: backend)                      // [B, W, g, g]
        let (batch, width) = (patches.shape[0], patches.shape[1])
        let grid = patches.shape[2] * patches.shape[3]
        let tokens = backend.contiguous(patches.reshaped([batch, width, grid]).permuted([0, 2, 1]))
        let cls = backend.contiguous(classEmbedding.reshaped([1, 1, width]).expanded(to: [batch, 1, width]))
        return backend.add(Tensor.concatenated([cls, tokens], dim: 1), positionEmbedding)
    }
}
