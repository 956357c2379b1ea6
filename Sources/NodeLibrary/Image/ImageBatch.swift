import MediaIO
import TensorCore
import Workflow

/// ComfyUI's `ImageBatch` ("Batch Images"): concatenates two batches; image2 is first resized to
/// image1's size (bilinear, center crop) when their sizes differ.
enum ImageBatchNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "ImageBatch", displayName: "Batch Images", category: "image", pythonModule: "nodes",
            required: [InputSpec("image1", .socket(SocketType.image)), InputSpec("image2", .socket(SocketType.image))],
            outputs: [OutputSpec(SocketType.image)]
        )
        return NodeDefinition(schema: schema) { inv in
            let image1 = try inv.image("image1")
            var image2 = try inv.image("image2")
            guard image1.shape[3] == image2.shape[3] else {
                throw NodeError("Cannot batch images with \(image1.shape[3]) and \(image2.shape[3]) channels")
            }
            try env.checkPixels(width: image1.shape[2], height: image1.shape[1], batch: image1.shape[0] + image2.shape[0])
            if Array(image1.shape.dropFirst()) != Array(image2.shape.dropFirst()) {
                image2 = ImageResampler.resize(image2, width: image1.shape[2], height: image1.shape[1],
                                               method: .bilinear, crop: .center)
            }
            return NodeResult(outputs: [.tensor(Tensor.concatenate(batches: [image1, image2]))])
        }
    }
}
