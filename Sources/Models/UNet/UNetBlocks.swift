import TensorCore
import TensorNN

/// The encoder–decoder structure of the latent-diffusion `UNetModel` (Ronneberger et al., "U-Net", 2015, as
/// Rombach et al. 2022 use it): the input convolution and, level by level, res blocks (each optionally followed by
/// a transformer) and downsamplers; the middle block; then the output blocks from the deepest level up, each taking
/// the matching input block's activations as a skip connection, with upsamplers between levels.
///
/// The image and video UNets share this structure and differ in their res blocks and transformers, which the
/// builder closures make.
struct UNetBlocks: Sendable {
    /// The level structure a configuration describes.
    struct Shape {
        var inChannels: Int
        var modelChannels: Int
        var channelMult: [Int]
        var numResBlocks: [Int]
        /// Per input res block, in order.
        var transformerDepth: [Int]
        /// Per output block, highest resolution first (the reference pops from the end).
        var transformerDepthOutput: [Int]
        /// ≥ 0: res–transformer–res; −1: a single res block; −2: no middle block.
        var transformerDepthMiddle: Int
    }

    typealias ResBlockBuilder = (_ scope: ParameterScope, _ inChannels: Int, _ outChannels: Int) -> UNetBlock.Layer
    typealias TransformerBuilder = (_ scope: ParameterScope, _ channels: Int, _ depth: Int) -> UNetBlock.Layer

    let inputs: [UNetBlock]
    /// Absent when `transformerDepthMiddle` is −2.
    let middle: UNetBlock?
    let outputs: [UNetBlock]
    /// Channels of the last output block (`channelMult[0]` × model channels), what the `out` norm reads.
    let outputChannels: Int

    /// Builds every block from `scope`, level by level as the reference constructs them.
    init(_ scope: ParameterScope, shape c: Shape, resBlock: ResBlockBuilder, transformer: TransformerBuilder) {
        let mc = c.modelChannels
        var inputs = [UNetBlock(layers: [
            .conv(Conv2d(scope("input_blocks.0.0"), inChannels: c.inChannels, outChannels: mc, kernelSize: 3, padding: 1)),
        ])]
        var skipChannels = [mc], ch = mc, resIndex = 0
        for (level, mult) in c.channelMult.enumerated() {
            for _ in 0..<c.numResBlocks[level] {
                let s = scope("input_blocks.\(inputs.count)")
                var layers = [resBlock(s("0"), ch, mult * mc)]
                ch = mult * mc
                let depth = resIndex < c.transformerDepth.count ? c.transformerDepth[resIndex] : 0
                if depth > 0 { layers.append(transformer(s("1"), ch, depth)) }
                inputs.append(UNetBlock(layers: layers))
                skipChannels.append(ch)
                resIndex += 1
            }
            if level != c.channelMult.count - 1 {
                let s = scope("input_blocks.\(inputs.count)")
                inputs.append(UNetBlock(layers: [.downsample(UNetDownsample(s("0"), channels: ch))]))
                skipChannels.append(ch)
            }
        }
        self.inputs = inputs

        if c.transformerDepthMiddle >= -1 {
            let s = scope("middle_block")
            var layers = [resBlock(s("0"), ch, ch)]
            if c.transformerDepthMiddle >= 0 {
                layers.append(transformer(s("1"), ch, c.transformerDepthMiddle))
                layers.append(resBlock(s("2"), ch, ch))
            }
            middle = UNetBlock(layers: layers)
        } else {
            middle = nil
        }

        // transformerDepthOutput is listed from the highest resolution down; the output side starts at
        // the lowest, so output block i takes entry count − 1 − i.
        var outputs: [UNetBlock] = []
        for level in c.channelMult.indices.reversed() {
            let mult = c.channelMult[level]
            for i in 0...c.numResBlocks[level] {
                let s = scope("output_blocks.\(outputs.count)")
                var layers = [resBlock(s("0"), ch + (skipChannels.popLast() ?? 0), mult * mc)]
                ch = mult * mc
                let mirrored = c.transformerDepthOutput.count - 1 - outputs.count
                let depth = c.transformerDepthOutput.indices.contains(mirrored) ? c.transformerDepthOutput[mirrored] : 0
                if depth > 0 { layers.append(transformer(s("1"), ch, depth)) }
                if level > 0 && i == c.numResBlocks[level] {
                    layers.append(.upsample(UNetUpsample(s("\(layers.count)"), channels: ch)))
                }
                outputs.append(UNetBlock(layers: layers))
            }
        }
        self.outputs = outputs
        outputChannels = ch
    }

    /// Adds every block's parameters under `input_blocks.i`, `middle_block` and `output_blocks.i`.
    func add(to table: inout ParameterTableBuilder) {
        for (i, block) in inputs.enumerated() { table.add("input_blocks.\(i)", block) }
        if let middle { table.add("middle_block", middle) }
        for (i, block) in outputs.enumerated() { table.add("output_blocks.\(i)", block) }
    }

    /// `x[B, inChannels, H, W]` through every block with its skips → `[B, modelChannels, H, W]` (before `out`).
    /// H and W need not be multiples of `2^(levels − 1)`: downsampling rounds up and upsampling resamples to the
    /// matching skip tensor's size.
    func callAsFunction(_ x: Tensor, activatedEmbedding: Tensor, context: Tensor, frames: Int = 1,
                        backend: some Backend) -> Tensor {
        var h = x
        var skips: [Tensor] = []
        skips.reserveCapacity(inputs.count)
        for block in inputs {
            h = block(h, activatedEmbedding: activatedEmbedding, context: context, frames: frames, backend: backend)
            skips.append(h)
        }
        if let middle {
            h = middle(h, activatedEmbedding: activatedEmbedding, context: context, frames: frames, backend: backend)
        }
        for block in outputs {
            let skip = skips.removeLast()
            h = Tensor.concatenated([backend.contiguous(h), backend.contiguous(skip)], dim: 1)
            let size = skips.last.map { (height: $0.shape[2], width: $0.shape[3]) }
            h = block(h, activatedEmbedding: activatedEmbedding, context: context, frames: frames, upsampleSize: size,
                      backend: backend)
        }
        return h
    }
}
