import Workflow

/// The node registry the server offers: every built-in node, in menu order.
public enum BuiltinNodes {
    /// All built-in node definitions for an environment.
    public static func definitions(_ env: NodeEnvironment) -> [NodeDefinition] {
        [
            LoadImageNode.definition(env),
            SaveImageNode.definition(env),
            PreviewImageNode.definition(env),
            EmptyImageNode.definition(env),
            ImageScaleNode.definition(env),
            ImageInvertNode.definition(env),
            ImageBatchNode.definition(env),
            ImageCropNode.definition(env),
        ]
    }

    /// The registry of built-in nodes.
    public static func registry(_ env: NodeEnvironment) -> NodeRegistry {
        NodeRegistry(definitions(env))
    }
}
