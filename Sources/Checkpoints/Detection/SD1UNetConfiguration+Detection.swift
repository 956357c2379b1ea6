extension SD1UNetConfiguration {
    /// What a UNet state dict says about itself beyond the configuration.
    public struct DetectionTraits: Sendable, Equatable {
        /// Temporal layers (`time_stack` / `time_mix_blocks`): a video UNet such as SVD.
        public var temporal: Bool
    }

    /// Reads an LDM UNet configuration off key names and shapes, as ComfyUI's `detect_unet_config` does.
    ///
    /// Levels are found by walking `input_blocks.N`: a block with `0.op` (a downsample) closes a level; each
    /// block with a res block counts one res block of the current level, whose channel multiplier is the
    /// res block's output width / model channels; a `1.transformer_blocks.*` sub-module gives the
    /// transformer depth and, the first time, the context width (`attn2.to_k` input features) and whether
    /// `proj_in` is linear. Output blocks are read in mirror order alongside.
    ///
    /// - Parameters:
    ///   - shapes: the checkpoint's keys and shapes.
    ///   - prefix: where the UNet lives, e.g. `model.diffusion_model.`.
    /// - Returns: nil when there is no `input_blocks.0.0.weight` under `prefix`.
    /// - Throws: `CheckpointError` `.unrecognisedModel` when a tensor the layout implies is missing or misshapen.
    public static func detect(
        in shapes: StateDictShapes, prefix: String
    ) throws(CheckpointError) -> (configuration: SD1UNetConfiguration, traits: DetectionTraits)? {
        let inputConv = prefix + "input_blocks.0.0.weight"
        guard shapes.contains(inputConv) else { return nil }
        let modelChannels = try shapes.dimension(inputConv, 0)
        let inChannels = try shapes.dimension(inputConv, 1)
        let outChannels = shapes.contains(prefix + "out.2.weight") ? try shapes.dimension(prefix + "out.2.weight", 0) : 4
        guard modelChannels > 0 else {
            throw CheckpointError(.unrecognisedModel, "UNet input conv has 0 output channels", path: shapes.source, key: inputConv)
        }

        var numResBlocks: [Int] = [], channelMult: [Int] = []
        var depth: [Int] = [], depthOutput: [Int] = []
        var context: Transformer?
        var lastResBlocks = 0, lastMult = 0
        let blockCount = shapes.countBlocks(prefix + "input_blocks.")
        for index in 0..<blockCount {
            let block = prefix + "input_blocks.\(index)."
            let mirror = prefix + "output_blocks.\(blockCount - index - 1)."
            if shapes.contains(block + "0.op.weight") {
                numResBlocks.append(lastResBlocks)
                channelMult.append(lastMult)
                lastResBlocks = 0
                lastMult = 0
                depthOutput.append(try transformer(at: mirror, in: shapes)?.depth ?? 0)
                continue
            }
            if shapes.contains(block + "0.in_layers.0.weight") {
                lastResBlocks += 1
                lastMult = try shapes.dimension(block + "0.out_layers.3.weight", 0) / modelChannels
                let found = try transformer(at: block, in: shapes)
                depth.append(found?.depth ?? 0)
                if context == nil { context = found }
            }
            if shapes.contains(mirror + "0.in_layers.0.weight") {
                depthOutput.append(try transformer(at: mirror, in: shapes)?.depth ?? 0)
            }
        }
        numResBlocks.append(lastResBlocks)
        channelMult.append(lastMult)

        let middle: Int
        if shapes.contains(prefix + "middle_block.1.proj_in.weight") {
            middle = shapes.countBlocks(prefix + "middle_block.1.transformer_blocks.")
        } else if shapes.contains(prefix + "middle_block.0.in_layers.0.weight") {
            middle = -1
        } else {
            middle = -2
        }
        let label = prefix + "label_emb.0.0.weight"
        let configuration = SD1UNetConfiguration(
            inChannels: inChannels, outChannels: outChannels, modelChannels: modelChannels,
            channelMult: channelMult, numResBlocks: numResBlocks, transformerDepth: depth,
            transformerDepthOutput: depthOutput, transformerDepthMiddle: middle,
            contextDim: context?.contextDim ?? 0, numHeads: 8, numHeadChannels: -1,
            useLinearInTransformer: context?.linear ?? false,
            admInChannels: shapes.contains(label) ? try shapes.dimension(label, 1) : nil)
        return (configuration, DetectionTraits(temporal: context?.temporal ?? false))
    }

    /// Why this configuration is not an SD1.x UNet, following ComfyUI's `SD15` model entry
    /// (context 768, 320 model channels, conv `proj_in`, no ADM input, no temporal layers) plus
    /// the checks any buildable UNet needs. Empty when it is one.
    public func sd1Mismatches(traits: DetectionTraits) -> [String] {
        var problems: [String] = []
        if contextDim == 0 { problems.append("no input-block transformer, so no context_dim (SD1.x has cross-attention on CLIP-L)") }
        else if contextDim != 768 { problems.append("context_dim \(contextDim) (SD1.x: 768)") }
        if modelChannels != 320 { problems.append("model_channels \(modelChannels) (SD1.x: 320)") }
        if useLinearInTransformer { problems.append("linear proj_in (SD1.x: 1x1 conv)") }
        if let admInChannels { problems.append("label_emb with adm_in_channels \(admInChannels) (SD1.x: none)") }
        if traits.temporal { problems.append("temporal layers (time_stack): a video UNet") }
        if inChannels == 8 { problems.append("in_channels 8 (instruct-pix2pix, not supported)") }
        if channelMult.contains(where: { $0 < 1 }) || numResBlocks.contains(where: { $0 < 1 }) {
            problems.append("a level without res blocks (channel_mult \(channelMult), num_res_blocks \(numResBlocks))")
        }
        let outputBlocks = numResBlocks.reduce(0) { $0 + $1 + 1 }
        if transformerDepthOutput.count != outputBlocks {
            problems.append("\(transformerDepthOutput.count) output blocks where the input side implies \(outputBlocks)")
        }
        return problems
    }

    private struct Transformer {
        var depth: Int
        var contextDim: Int
        var linear: Bool
        var temporal: Bool
    }

    /// The spatial transformer at `block + "1."`, if there is one.
    private static func transformer(at block: String, in shapes: StateDictShapes) throws(CheckpointError) -> Transformer? {
        let blocks = block + "1.transformer_blocks."
        guard shapes.hasKeys(withPrefix: blocks) else { return nil }
        let projIn = block + "1.proj_in.weight"
        guard let projInShape = shapes[projIn] else {
            throw CheckpointError(.unrecognisedModel, "transformer without proj_in", path: shapes.source, key: projIn)
        }
        let temporal = ["time_stack", "time_mix_blocks"].contains { shapes.contains(block + "1.\($0).0.attn1.to_q.weight") }
        return Transformer(
            depth: shapes.countBlocks(blocks),
            contextDim: try shapes.dimension(blocks + "0.attn2.to_k.weight", 1),
            linear: projInShape.count == 2, temporal: temporal)
    }
}
