import TensorCore
import Workflow

/// ComfyUI's frame-handling nodes for IMAGE batches (comfy_extras.nodes_images and nodes_rebatch):
/// `ImageFromBatch`, `RepeatImageBatch` and `RebatchImages`.
enum ImageBatchNodes {
    /// `ImageFromBatch` ("Get Image from Batch"): `image[i ..< i + length]` with a negative index counted
    /// from the end, the index clamped into the batch and the length clipped at its end.
    static func fromBatch(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "ImageFromBatch", displayName: "Get Image from Batch", category: "image/batch",
            pythonModule: "comfy_extras.nodes_images",
            required: [
                InputSpec("image", .socket(SocketType.image)),
                InputSpec("batch_index", .int(IntOptions(default: 0, min: -maxResolution, max: .int(maxResolution)))),
                InputSpec("length", .int(IntOptions(default: 1, min: 1, max: .int(4096)))),
            ],
            outputs: [OutputSpec(SocketType.image)],
            searchAliases: ["select image", "pick from batch", "extract image"], isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let image = try inv.image("image")
            let count = image.shape[0]
            var index = Int(try inv.int("batch_index"))
            if index < 0 { index += count }
            index = max(0, min(count - 1, index))
            let length = min(count - index, max(1, Int(try inv.int("length"))))
            return NodeResult(outputs: [.tensor(image.slice(batch: index..<(index + length)).contiguous(forceCopy: true))])
        }
    }

    /// `RepeatImageBatch`: the whole batch repeated `amount` times (`image.repeat(amount, 1, 1, 1)`).
    static func repeatBatch(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "RepeatImageBatch", displayName: "Repeat Image Batch", category: "image/batch",
            pythonModule: "comfy_extras.nodes_images",
            required: [
                InputSpec("image", .socket(SocketType.image)),
                InputSpec("amount", .int(IntOptions(default: 1, min: 1, max: .int(4096)))),
            ],
            outputs: [OutputSpec(SocketType.image)],
            searchAliases: ["duplicate image", "clone image"], isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let image = try inv.image("image")
            let amount = Int(try inv.int("amount"))
            guard amount >= 1 else { throw NodeError("RepeatImageBatch needs amount >= 1, got \(amount)") }
            try env.checkPixels(width: image.shape[2], height: image.shape[1], batch: image.shape[0] * amount)
            let repeated = Tensor.concatenate(batches: [Tensor](repeating: image, count: amount))
            return NodeResult(outputs: [.tensor(repeated)])
        }
    }

    /// `RebatchImages`: a list-input node that splits every incoming batch into single images and
    /// regroups them, in order, into batches of `batch_size` (the last one may be smaller). Its output
    /// is a list, so downstream nodes run once per batch.
    static func rebatch(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "RebatchImages", displayName: "Rebatch Images", category: "image/batch",
            pythonModule: "comfy_extras.nodes_rebatch",
            required: [
                InputSpec("images", .socket(SocketType.image)),
                InputSpec("batch_size", .int(IntOptions(default: 1, min: 1, max: .int(4096)))),
            ],
            outputs: [OutputSpec(SocketType.image, isList: true)],
            isInputList: true, isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            guard case .list(let items)? = inv["images"] else { throw NodeError("Input 'images' is missing") }
            guard case .list(let sizes)? = inv["batch_size"], let first = sizes.first,
                  case .int(let size) = first, size >= 1 else {
                throw NodeError("RebatchImages needs batch_size >= 1")
            }
            var singles: [Tensor] = []
            for item in items {
                guard case .object(let o) = item, let t = o as? Tensor, t.rank == 4 else {
                    throw NodeError("Input 'images' is not an IMAGE batch")
                }
                for i in 0..<t.shape[0] { singles.append(t.slice(batch: i..<(i + 1))) }
            }
            var batches: [NodeValue] = []
            for start in stride(from: 0, to: singles.count, by: Int(size)) {
                let group = Array(singles[start..<min(start + Int(size), singles.count)])
                let shape = Array(group[0].shape.dropFirst())
                guard group.allSatisfy({ Array($0.shape.dropFirst()) == shape }) else {
                    throw NodeError("RebatchImages cannot batch images of different sizes together (\(group.map { $0.shape }))")
                }
                batches.append(.tensor(Tensor.concatenate(batches: group)))
            }
            return NodeResult(outputs: [.list(batches)])
        }
    }
}
