import TensorCore
import TensorNN

/// One entry of the UNet's `input_blocks`, `middle_block` or `output_blocks`: layers applied in order, each
/// reading its parameters under its index (`0`, `1`, `2`). The image UNet's blocks hold 2-D res blocks and spatial
/// transformers; the video UNet's hold their video counterparts, which mix the frames of each video.
struct UNetBlock: Module {
    enum Layer: Sendable {
        /// The input convolution (`input_blocks.0.0`).
        case conv(Conv2d)
        case resBlock(UNetResBlock)
        case transformer(SpatialTransformer)
        case videoResBlock(VideoResBlock)
        case videoTransformer(SpatialVideoTransformer)
        case downsample(UNetDownsample)
        case upsample(UNetUpsample)

        var module: any Module {
            switch self {
            case .conv(let m): m
            case .resBlock(let m): m
            case .transformer(let m): m
            case .videoResBlock(let m): m
            case .videoTransformer(let m): m
            case .downsample(let m): m
            case .upsample(let m): m
            }
        }
    }

    let layers: [Layer]

    var parameters: [String: Tensor] {
        var table: [String: Tensor] = [:]
        for (index, layer) in layers.enumerated() {
            for (key, tensor) in layer.module.parameters { table["\(index).\(key)"] = tensor }
        }
        return table
    }

    /// Runs the layers on `x[B, C, H, W]`.
    ///
    /// - Parameters:
    ///   - activatedEmbedding: `SiLU(time embedding)` `[B, 4·model channels]` for the res blocks.
    ///   - context: `[B, Lc, contextDim]` for the transformers.
    ///   - frames: frames per video (consecutive rows) for the video layers; 1 for images.
    ///   - upsampleSize: where an upsample layer resamples to (the next skip tensor's size); `2H × 2W` when nil.
    func callAsFunction(_ x: Tensor, activatedEmbedding: Tensor, context: Tensor, frames: Int = 1,
                        upsampleSize: (height: Int, width: Int)? = nil, backend: some Backend) -> Tensor {
        var h = x
        for layer in layers {
            switch layer {
            case .conv(let conv): h = conv(h, backend: backend)
            case .resBlock(let block): h = block(h, activatedEmbedding: activatedEmbedding, backend: backend)
            case .transformer(let transformer): h = transformer(h, context: context, backend: backend)
            case .videoResBlock(let block): h = block(h, activatedEmbedding: activatedEmbedding, frames: frames, backend: backend)
            case .videoTransformer(let transformer): h = transformer(h, context: context, frames: frames, backend: backend)
            case .downsample(let downsample): h = downsample(h, backend: backend)
            case .upsample(let upsample): h = upsample(h, size: upsampleSize, backend: backend)
            }
        }
        return h
    }
}
