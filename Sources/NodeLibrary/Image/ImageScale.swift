import MediaIO
import TensorCore
import Workflow

/// ComfyUI's `ImageScale` ("Upscale Image"): resize to width × height with `common_upscale`; a 0
/// width or height keeps the aspect ratio, both 0 returns the image unchanged.
enum ImageScaleNode {
    static let methods = ImageResampler.Method.allCases.map(\.rawValue)
    static let crops = ImageResampler.Crop.allCases.map(\.rawValue)

    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "ImageScale", displayName: "Upscale Image", category: "image/upscaling", pythonModule: "nodes",
            required: [
                InputSpec("image", .socket(SocketType.image)),
                InputSpec("upscale_method", .combo(ComboOptions(methods))),
                InputSpec("width", .int(IntOptions(default: 512, min: 0, max: .int(maxResolution), step: 1))),
                InputSpec("height", .int(IntOptions(default: 512, min: 0, max: .int(maxResolution), step: 1))),
                InputSpec("crop", .combo(ComboOptions(crops))),
            ],
            outputs: [OutputSpec(SocketType.image)]
        )
        return NodeDefinition(schema: schema) { inv in
            let image = try inv.image("image")
            let methodName = try inv.string("upscale_method"), cropName = try inv.string("crop")
            guard let method = ImageResampler.Method(rawValue: methodName) else {
                throw NodeError("Unknown upscale_method '\(methodName)'")
            }
            guard let crop = ImageResampler.Crop(rawValue: cropName) else { throw NodeError("Unknown crop '\(cropName)'") }
            var width = Int(try inv.int("width")), height = Int(try inv.int("height"))
            guard width >= 0, height >= 0 else { throw NodeError("ImageScale needs non-negative sizes") }
            if width == 0 && height == 0 { return NodeResult(outputs: [.tensor(image)]) }
            let inH = image.shape[1], inW = image.shape[2]
            // Python: max(1, round(W * height / H)) — true division, round half to even.
            if width == 0 {
                width = max(1, Int((Double(inW * height) / Double(inH)).rounded(.toNearestOrEven)))
            } else if height == 0 {
                height = max(1, Int((Double(inH * width) / Double(inW)).rounded(.toNearestOrEven)))
            }
            try env.checkPixels(width: width, height: height, batch: image.shape[0])
            let out = ImageResampler.resize(image, width: width, height: height, method: method, crop: crop)
            return NodeResult(outputs: [.tensor(out)])
        }
    }
}
