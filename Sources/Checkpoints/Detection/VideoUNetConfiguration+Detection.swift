extension VideoUNetConfiguration {
    /// Reads a video UNet configuration off key names and shapes, as ComfyUI's `detect_unet_config` does for
    /// a state dict whose first transformer has a `time_stack`.
    ///
    /// The layout (levels, res blocks, transformer depths, context width, linear projections, `label_emb`
    /// width) is read exactly as for the image UNet (``SD1UNetConfiguration/detect(in:prefix:)``); the video
    /// fields take the values ComfyUI sets for every video UNet (`extra_ff_mix_layer`, spatial context,
    /// `learned_with_images` merging, kernel `[3, 1, 1]`), with the temporal cross-attention present when the
    /// first temporal block has an `attn2`. Heads are 64 channels wide, ComfyUI's `SVD_img2vid` setting.
    ///
    /// - Parameters:
    ///   - shapes: the checkpoint's keys and shapes.
    ///   - prefix: where the UNet lives, e.g. `model.diffusion_model.`.
    /// - Returns: nil when there is no UNet under `prefix` or it has no temporal layers.
    /// - Throws: `CheckpointError` `.unrecognisedModel` when a tensor the layout implies is missing or misshapen.
    public static func detect(in shapes: StateDictShapes, prefix: String) throws(CheckpointError) -> VideoUNetConfiguration? {
        guard let (image, traits) = try SD1UNetConfiguration.detect(in: shapes, prefix: prefix), traits.temporal else {
            return nil
        }
        var temporalCross = false
        for index in 0..<shapes.countBlocks(prefix + "input_blocks.") {
            let stack = prefix + "input_blocks.\(index).1.time_stack.0."
            if shapes.contains(stack + "attn1.to_q.weight") {
                temporalCross = shapes.contains(stack + "attn2.to_q.weight")
                break
            }
        }
        return VideoUNetConfiguration(
            inChannels: image.inChannels, outChannels: image.outChannels, modelChannels: image.modelChannels,
            channelMult: image.channelMult, numResBlocks: image.numResBlocks,
            transformerDepth: image.transformerDepth, transformerDepthOutput: image.transformerDepthOutput,
            transformerDepthMiddle: image.transformerDepthMiddle, contextDim: image.contextDim, numHeadChannels: 64,
            useLinearInTransformer: image.useLinearInTransformer, admInChannels: image.admInChannels,
            extraFFMixLayer: true, useSpatialContext: true, mergeStrategy: .learnedWithImages,
            videoKernelSize: [3, 1, 1], disableTemporalCrossAttention: !temporalCross, maxTimeEmbedPeriod: 10000)
    }

    /// ``detect(in:prefix:)`` over a plain key → shape table.
    public static func detect(in shapes: [String: [Int]], prefix: String) throws(CheckpointError) -> VideoUNetConfiguration? {
        try detect(in: StateDictShapes(shapes), prefix: prefix)
    }
}
