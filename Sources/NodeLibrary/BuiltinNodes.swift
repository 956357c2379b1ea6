import Workflow

/// The node registry the server offers: every built-in node, in menu order.
public enum BuiltinNodes {
    /// All built-in node definitions for an environment, in ComfyUI's `NODE_CLASS_MAPPINGS` order where it has one.
    public static func definitions(_ env: NodeEnvironment) -> [NodeDefinition] {
        [
            CheckpointLoaderSimpleNode.definition(env),
            CLIPTextEncodeNode.definition(env),
            CLIPSetLastLayerNode.definition(env),
        ] + ConditioningNodes.definitions(env) + [
            LoadImageNode.definition(env),
            SaveImageNode.definition(env),
            PreviewImageNode.definition(env),
            EmptyImageNode.definition(env),
            ImageScaleNode.definition(env),
            ImageInvertNode.definition(env),
            ImageBatchNode.definition(env),
            ImageCropNode.definition(env),
            CLIPLoaderNode.definition(env),
            VAELoaderNode.definition(env),
            CLIPVisionNodes.loader(env),
            CLIPVisionNodes.encode(env),
            EmptyLatentImageNode.definition(env),
            KSamplerNode.definition(env),
            KSamplerNode.advancedDefinition(env),
            VAEDecodeNode.definition(env),
            VAEEncodeNode.definition(env),
            VAEDecodeNode.tiledDefinition(env),
            VAEEncodeNode.tiledDefinition(env),
            LatentUpscaleNode.definition(env),
            LatentUpscaleNode.byDefinition(env),
            SetLatentNoiseMaskNode.definition(env),
            LatentFromBatchNode.definition(env),
            RepeatLatentBatchNode.definition(env),
            ModelSamplingDiscreteNode.definition(env),
            LatentFileNodes.loadDefinition(env),
            LatentFileNodes.saveDefinition(env),
            SVDNodes.checkpointLoader(env),
            SVDNodes.conditioning(env),
            VideoCFGGuidanceNodes.linear(env),
            VideoCFGGuidanceNodes.triangle(env),
            ImageBatchNodes.fromBatch(env),
            ImageBatchNodes.repeatBatch(env),
            ImageBatchNodes.rebatch(env),
            SaveAnimatedNodes.webp(env),
            SaveAnimatedNodes.png(env),
            VideoNodes.saveWEBM(env),
            VideoNodes.save(env),
            VideoNodes.create(env),
            VideoNodes.components(env),
            VideoNodes.load(env),
            VideoCombineNode.definition(env),
        ]
    }

    /// The registry of built-in nodes.
    public static func registry(_ env: NodeEnvironment) -> NodeRegistry {
        NodeRegistry(definitions(env))
    }
}
