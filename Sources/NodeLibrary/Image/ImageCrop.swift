import TensorCore
import Workflow

/// ComfyUI's `ImageCrop` (comfy_extras.nodes_images, a V3 node): `image[:, y:y+height, x:x+width, :]`
/// with x and y clamped to the last column/row and the window clipped at the border.
enum ImageCropNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "ImageCrop", displayName: "Image Crop", category: "image/transform",
            pythonModule: "comfy_extras.nodes_images",
            required: [
                InputSpec("image", .socket(SocketType.image)),
                InputSpec("width", .int(IntOptions(default: 512, min: 1, max: .int(maxResolution), step: 1))),
                InputSpec("height", .int(IntOptions(default: 512, min: 1, max: .int(maxResolution), step: 1))),
                InputSpec("x", .int(IntOptions(default: 0, min: 0, max: .int(maxResolution), step: 1))),
                InputSpec("y", .int(IntOptions(default: 0, min: 0, max: .int(maxResolution), step: 1))),
            ],
            outputs: [OutputSpec(SocketType.image)],
            isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let image = try inv.image("image")
            let width = Int(try inv.int("width")), height = Int(try inv.int("height"))
            let (b, h, w, c) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
            let x = min(max(Int(try inv.int("x")), 0), w - 1)
            let y = min(max(Int(try inv.int("y")), 0), h - 1)
            guard width >= 1, height >= 1 else { throw NodeError("ImageCrop needs a positive width and height") }
            let toX = min(x + width, w), toY = min(y + height, h)
            let ow = toX - x, oh = toY - y
            var scalars: [Float] = []
            scalars.reserveCapacity(b * oh * ow * c)
            for bi in 0..<b {
                for row in y..<toY {
                    let start = ((bi * h + row) * w + x) * c
                    scalars.append(contentsOf: image.scalars[start..<(start + ow * c)])
                }
            }
            return NodeResult(outputs: [.tensor(Tensor(shape: [b, oh, ow, c], scalars: scalars))])
        }
    }
}
