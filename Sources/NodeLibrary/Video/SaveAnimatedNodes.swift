import FolderPaths
import MediaIO
import TensorCore
import Workflow

/// ComfyUI's `SaveAnimatedWEBP` and `SaveAnimatedPNG` (comfy_extras.nodes_images): one animated file
/// per IMAGE batch, reported under `images` with `"animated": [true]` when it has more than one frame.
enum SaveAnimatedNodes {
    static let webpMethods = ["default": 4, "fastest": 0, "slowest": 6]

    static func webp(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SaveAnimatedWEBP", displayName: "Save Animated WEBP", category: "image/animation",
            pythonModule: "comfy_extras.nodes_images", isOutputNode: true,
            required: [
                InputSpec("images", .socket(SocketType.image)),
                InputSpec("filename_prefix", .string(StringOptions(default: "ComfyUI"))),
                InputSpec("fps", .float(FloatOptions(default: 6.0, min: 0.01, max: 1000.0, step: 0.01))),
                InputSpec("lossless", .boolean(BoolOptions(default: true))),
                InputSpec("quality", .int(IntOptions(default: 80, min: 0, max: .int(100)))),
                InputSpec("method", .combo(ComboOptions(["default", "fastest", "slowest"], v3Encoding: true))),
            ],
            hidden: [.prompt, .extraPNGInfo],
            isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let images = try inv.image("images")
            let prefix = try inv.string("filename_prefix")
            let duration = try MediaNodeSupport.frameDuration(fps: try inv.double("fps"))
            let lossless = try inv.bool("lossless")
            let quality = Int(try inv.int("quality"))
            let methodName = try inv.string("method")
            guard let method = webpMethods[methodName] else {
                throw NodeError("Unknown WEBP method '\(methodName)' (default, fastest or slowest)")
            }
            return try saveAnimated(images, prefix: prefix, extension: "webp", env: env) { b, h, w, channels in
                var exif: [UInt8]?
                if !env.disableMetadata {
                    var entries: [(tag: UInt16, value: String)] = []
                    if !inv.prompt.isNull { entries.append((0x0110, "prompt:" + PythonJSON.dumps(inv.prompt))) }
                    var tag: UInt16 = 0x010F
                    for (key, value) in inv.extraPNGInfo?.objectValue ?? JSONObject() where tag > 0 {
                        entries.append((tag, key + ":" + PythonJSON.dumps(value)))
                        tag -= 1
                    }
                    if !entries.isEmpty { exif = ExifASCII.tiff(entries) }
                }
                let writer = try AnimatedWEBPWriter(width: w, height: h, loopCount: 0, quality: quality,
                                                    lossless: lossless, method: method)
                for i in 0..<b {
                    try inv.context.progress(i, of: b)
                    try writer.add(images.imagePixels(batch: i, channels: channels), channels: channels,
                                   durationMilliseconds: duration)
                }
                return try writer.finish(exif: exif)
            }
        }
    }

    static func png(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SaveAnimatedPNG", displayName: "Save Animated PNG", category: "image/animation",
            pythonModule: "comfy_extras.nodes_images", isOutputNode: true,
            required: [
                InputSpec("images", .socket(SocketType.image)),
                InputSpec("filename_prefix", .string(StringOptions(default: "ComfyUI"))),
                InputSpec("fps", .float(FloatOptions(default: 6.0, min: 0.01, max: 1000.0, step: 0.01))),
                InputSpec("compress_level", .int(IntOptions(default: 4, min: 0, max: .int(9)))),
            ],
            hidden: [.prompt, .extraPNGInfo],
            isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let images = try inv.image("images")
            let prefix = try inv.string("filename_prefix")
            let duration = try MediaNodeSupport.frameDuration(fps: try inv.double("fps"))
            let level = Int(try inv.int("compress_level"))
            guard (0...9).contains(level) else { throw NodeError("compress_level must be 0-9, got \(level)") }
            // ComfyUI stores the prompt and workflow in private `comf` chunks: key, NUL, JSON (Latin-1).
            let chunks = MediaNodeSupport.metadata(prompt: inv.prompt, extraPNGInfo: inv.extraPNGInfo,
                                                   disabled: env.disableMetadata)
                .map { (type: "comf", data: latin1($0.key) + [0] + latin1($0.value)) }
            return try saveAnimated(images, prefix: prefix, extension: "png", env: env) { b, h, w, channels in
                let writer = try AnimatedPNGWriter(width: w, height: h, channels: channels, loopCount: 0, compressLevel: level)
                for i in 0..<b {
                    try inv.context.progress(i, of: b)
                    try writer.add(images.imagePixels(batch: i, channels: channels), durationMilliseconds: duration)
                }
                return try writer.finish(privateChunks: chunks)
            }
        }
    }

    /// The savers' shared part: plans `<prefix>_NNNNN_.<ext>` in the output folder, encodes the batch with
    /// `encode(frames, height, width, channels)` and writes it; the UI entry is animated when there is more than one
    /// frame.
    static func saveAnimated(_ images: Tensor, prefix: String, extension ext: String, env: NodeEnvironment,
                             encode: (Int, Int, Int, Int) throws -> [UInt8]) throws -> NodeResult {
        let (b, h, w, c) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let plan = try MediaNodeSupport.plan(prefix: prefix, in: env.directories.output, kind: .output, width: w, height: h)
        let file = plan.fileName(counter: plan.counter, extension: ext)
        guard SafePath.isSafeComponent(file) else { throw NodeError("Invalid output file name '\(file)'") }
        let bytes = try MediaNodeSupport.wrap("\(ext.uppercased()) encoding failed") { try encode(b, h, w, c == 4 ? 4 : 3) }
        try FileWriter.write(bytes, to: plan.path(of: file))
        return NodeResult(outputs: [], ui: MediaNodeSupport.preview(file, subfolder: plan.subfolder, animated: b > 1))
    }

    /// Latin-1 bytes (the JSON is ASCII; other characters above U+00FF become `?`).
    static func latin1(_ s: String) -> [UInt8] {
        s.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
    }
}
