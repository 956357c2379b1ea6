import Diffusion
import MediaIO
import TensorCore
import Workflow

/// ComfyUI's `EmptyLatentImage`: zeros `[batch, 4, height/8, width/8]`.
enum EmptyLatentImageNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "EmptyLatentImage", displayName: "Empty Latent Image",
            description: "Create a new batch of empty latent images to be denoised via sampling.",
            category: "latent", pythonModule: "nodes",
            required: [
                InputSpec("width", .int(IntOptions(default: 512, min: 16, max: .int(maxResolution), step: 8)),
                          tooltip: "The width of the latent images in pixels."),
                InputSpec("height", .int(IntOptions(default: 512, min: 16, max: .int(maxResolution), step: 8)),
                          tooltip: "The height of the latent images in pixels."),
                InputSpec("batch_size", .int(IntOptions(default: 1, min: 1, max: .int(4096))),
                          tooltip: "The number of latent images in the batch."),
            ],
            outputs: [OutputSpec(SocketType.latent, tooltip: "The empty latent image batch.")]
        )
        return NodeDefinition(schema: schema) { inv in
            let width = Int(try inv.int("width")), height = Int(try inv.int("height")), batch = Int(try inv.int("batch_size"))
            guard width >= 8, height >= 8, batch >= 1 else {
                throw NodeError("EmptyLatentImage needs a size of at least 8x8 and a batch of at least 1 (got \(width)x\(height) x \(batch))")
            }
            try env.checkPixels(width: width, height: height, batch: batch)
            return NodeResult(outputs: [.object(Latent(samples: Tensor(zeros: [batch, 4, height / 8, width / 8])))])
        }
    }
}

/// ComfyUI's `LatentUpscale` and `LatentUpscaleBy`: `common_upscale` on the latent planes.
enum LatentUpscaleNode {
    static let methods = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]

    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "LatentUpscale", displayName: "Upscale Latent", category: "latent", pythonModule: "nodes",
            required: [
                InputSpec("samples", .socket(SocketType.latent)),
                InputSpec("upscale_method", .combo(ComboOptions(methods))),
                InputSpec("width", .int(IntOptions(default: 512, min: 0, max: .int(maxResolution), step: 8))),
                InputSpec("height", .int(IntOptions(default: 512, min: 0, max: .int(maxResolution), step: 8))),
                InputSpec("crop", .combo(ComboOptions(["disabled", "center"]))),
            ],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            var latent = try inv.latent("samples")
            let method = try inv.string("upscale_method"), crop = try inv.string("crop")
            var width = Int(try inv.int("width")), height = Int(try inv.int("height"))
            guard width >= 0, height >= 0 else { throw NodeError("LatentUpscale needs non-negative sizes") }
            if width == 0 && height == 0 { return NodeResult(outputs: [.object(latent)]) }
            let h = latent.samples.shape[2], w = latent.samples.shape[3]
            // Python round() of true division (half to even), as the node computes the missing side.
            if width == 0 {
                height = max(64, height)
                width = max(1, Int((Double(w * height) / Double(h)).rounded(.toNearestOrEven)))
            } else if height == 0 {
                width = max(64, width)
                height = max(1, Int((Double(h * width) / Double(w)).rounded(.toNearestOrEven)))
            } else {
                width = max(64, width)
                height = max(64, height)
            }
            try env.checkPixels(width: width, height: height, batch: latent.batchSize)
            latent.samples = try upscale(latent.samples, width: width / 8, height: height / 8, method: method, crop: crop)
            return NodeResult(outputs: [.object(latent)])
        }
    }

    static func byDefinition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "LatentUpscaleBy", displayName: "Upscale Latent By", category: "latent", pythonModule: "nodes",
            required: [
                InputSpec("samples", .socket(SocketType.latent)),
                InputSpec("upscale_method", .combo(ComboOptions(methods))),
                InputSpec("scale_by", .float(FloatOptions(default: 1.5, min: 0.01, max: 8.0, step: 0.01))),
            ],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            var latent = try inv.latent("samples")
            let method = try inv.string("upscale_method")
            let scale = try inv.double("scale_by")
            guard scale.isFinite, scale > 0 else { throw NodeError("scale_by must be a positive number") }
            let width = Int((Double(latent.samples.shape[3]) * scale).rounded(.toNearestOrEven))
            let height = Int((Double(latent.samples.shape[2]) * scale).rounded(.toNearestOrEven))
            guard width >= 1, height >= 1 else { throw NodeError("scale_by \(scale) makes an empty latent") }
            try env.checkPixels(width: width * 8, height: height * 8, batch: latent.batchSize)
            latent.samples = try upscale(latent.samples, width: width, height: height, method: method, crop: "disabled")
            return NodeResult(outputs: [.object(latent)])
        }
    }

    /// `comfy.utils.common_upscale` on `[B, C, h, w]` planes.
    static func upscale(_ samples: Tensor, width: Int, height: Int, method: String, crop: String) throws -> Tensor {
        guard let cropMode = ImageResampler.Crop(rawValue: crop) else { throw NodeError("Unknown crop '\(crop)'") }
        if method == "bislerp" {
            return Bislerp.resize(samples, width: width, height: height, crop: cropMode)
        }
        guard let resampler = ImageResampler.Method(rawValue: method), methods.contains(method) else {
            throw NodeError("Unknown upscale_method '\(method)'")
        }
        return ImageResampler.resize(samples, width: width, height: height, method: resampler, crop: cropMode,
                                     layout: .channelsFirst)
    }
}

/// ComfyUI's `SetLatentNoiseMask`: only the masked part of the latent is denoised.
enum SetLatentNoiseMaskNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SetLatentNoiseMask", displayName: "Set Latent Noise Mask", category: "latent/inpaint",
            pythonModule: "nodes",
            required: [InputSpec("samples", .socket(SocketType.latent)), InputSpec("mask", .socket(SocketType.mask))],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            var latent = try inv.latent("samples")
            let mask = try inv.mask("mask")
            let h = mask.shape[mask.rank - 2], w = mask.shape[mask.rank - 1]
            latent.noiseMask = mask.contiguous().reshaped([-1, 1, h, w])
            return NodeResult(outputs: [.object(latent)])
        }
    }
}

/// ComfyUI's `LatentFromBatch`: a slice of the batch, remembering the items' batch indices (so the
/// initial noise of each item stays the one it had in the whole batch).
enum LatentFromBatchNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "LatentFromBatch", displayName: "Latent From Batch", category: "latent/batch", pythonModule: "nodes",
            required: [
                InputSpec("samples", .socket(SocketType.latent)),
                InputSpec("batch_index", .int(IntOptions(default: 0, min: 0, max: .int(63)))),
                InputSpec("length", .int(IntOptions(default: 1, min: 1, max: .int(64)))),
            ],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            let latent = try inv.latent("samples")
            let count = latent.batchSize
            let index = max(0, min(count - 1, Int(try inv.int("batch_index"))))
            let length = max(1, min(count - index, Int(try inv.int("length"))))
            var out = latent
            out.samples = latent.samples.slice(batch: index..<(index + length)).contiguous(forceCopy: true)
            if let masks = latent.noiseMask {
                if masks.shape[0] == 1 {
                    out.noiseMask = masks
                } else {
                    out.noiseMask = masks.repeatedToBatch(max(count, masks.shape[0])).slice(batch: index..<(index + length))
                        .contiguous(forceCopy: true)
                }
            }
            out.batchIndex = latent.batchIndex.map { Array($0[index..<(index + length)]) } ?? Array(index..<(index + length))
            return NodeResult(outputs: [.object(out)])
        }
    }
}

/// ComfyUI's `RepeatLatentBatch`: the batch repeated `amount` times, batch indices offset per copy.
enum RepeatLatentBatchNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "RepeatLatentBatch", displayName: "Repeat Latent Batch", category: "latent/batch", pythonModule: "nodes",
            required: [
                InputSpec("samples", .socket(SocketType.latent)),
                InputSpec("amount", .int(IntOptions(default: 1, min: 1, max: .int(64)))),
            ],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(schema: schema) { inv in
            let latent = try inv.latent("samples")
            let amount = Int(try inv.int("amount"))
            guard amount >= 1 else { throw NodeError("amount must be at least 1") }
            let s = latent.samples.shape
            try env.checkPixels(width: s[3] * 8, height: s[2] * 8, batch: s[0] * amount)
            var out = latent
            out.samples = Tensor.concatenated([Tensor](repeating: latent.samples, count: amount), dim: 0)
            // ComfyUI repeats the mask batch as it came (its padded copy to the latent's batch is unused).
            if let masks = latent.noiseMask, masks.shape[0] > 1 {
                out.noiseMask = Tensor.concatenated([Tensor](repeating: masks, count: amount), dim: 0)
            }
            if let indices = latent.batchIndex, let low = indices.min(), let high = indices.max() {
                let offset = high - low + 1
                out.batchIndex = indices + (1..<amount).flatMap { i in indices.map { $0 + i * offset } }
            }
            return NodeResult(outputs: [.object(out)])
        }
    }
}
