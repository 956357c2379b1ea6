import TensorCore
import Workflow

/// ComfyUI's `ImageInvert`: `1 − image`.
enum ImageInvertNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "ImageInvert", displayName: "Invert Image", category: "image", pythonModule: "nodes",
            required: [InputSpec("image", .socket(SocketType.image))],
            outputs: [OutputSpec(SocketType.image)]
        )
        return NodeDefinition(schema: schema) { inv in
            let image = try inv.image("image")
            return NodeResult(outputs: [.tensor(Tensor(shape: image.shape, scalars: image.scalars.map { 1 - $0 }))])
        }
    }
}
