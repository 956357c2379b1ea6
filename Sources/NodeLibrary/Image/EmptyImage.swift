import TensorCore
import Workflow

/// ComfyUI's `EmptyImage`: a batch filled with one RGB colour (`0xRRGGBB`).
enum EmptyImageNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "EmptyImage", displayName: "EmptyImage", category: "image", pythonModule: "nodes",
            required: [
                InputSpec("width", .int(IntOptions(default: 512, min: 1, max: .int(maxResolution), step: 1))),
                InputSpec("height", .int(IntOptions(default: 512, min: 1, max: .int(maxResolution), step: 1))),
                InputSpec("batch_size", .int(IntOptions(default: 1, min: 1, max: .int(4096)))),
                InputSpec("color", .int(IntOptions(default: 0, min: 0, max: .int(0xFFFFFF), step: 1, display: "color"))),
            ],
            outputs: [OutputSpec(SocketType.image)]
        )
        return NodeDefinition(schema: schema) { inv in
            let width = Int(try inv.int("width")), height = Int(try inv.int("height"))
            let batch = Int(try inv.int("batch_size")), color = Int(try inv.int("color"))
            guard width >= 1, height >= 1, batch >= 1 else {
                throw NodeError("EmptyImage needs positive sizes (got \(width)x\(height) x \(batch))")
            }
            try env.checkPixels(width: width, height: height, batch: batch)
            // torch.full(..., (c & 0xFF) / 0xFF): a Python float rounded to float32.
            let rgb = [16, 8, 0].map { Float(Double((color >> $0) & 0xFF) / 255.0) }
            var scalars = [Float](repeating: 0, count: batch * height * width * 3)
            for i in 0..<(batch * height * width) {
                scalars[3 * i] = rgb[0]; scalars[3 * i + 1] = rgb[1]; scalars[3 * i + 2] = rgb[2]
            }
            return NodeResult(outputs: [.tensor(Tensor(shape: [batch, height, width, 3], scalars: scalars))])
        }
    }
}
