import FolderPaths
import MediaIO
import TensorCore
import Workflow

/// The shared body of SaveImage and PreviewImage (ComfyUI's `SaveImage.save_images`): plans the
/// output path, writes one PNG per batch item with the prompt/workflow text chunks, and builds the
/// `{"images": [{filename, subfolder, type}]}` UI dict.
struct ImageSaver: Sendable {
    var directory: String
    var kind: FileKind
    var compressLevel: Int
    var disableMetadata: Bool

    /// Saves `images` and returns the UI dict.
    /// - Throws: ``NodeError`` for bad inputs, path escapes and write failures.
    func save(_ images: Tensor, prefix: String, prompt: JSONValue, extraPNGInfo: JSONValue?) throws -> JSONObject {
        let height = images.shape[1], width = images.shape[2], channels = images.shape[3]
        guard [1, 3, 4].contains(channels) else {
            throw NodeError("Cannot save an image with \(channels) channels (expected 1, 3 or 4)")
        }
        let plan: OutputPath
        do {
            plan = try OutputPath.next(prefix: prefix, in: directory, width: width, height: height)
        } catch let error as PathError {
            throw NodeError("Saving image outside the \(kind.rawValue) folder is not allowed: \(error.description)",
                            type: "loom.PathError")
        }
        let chunks = disableMetadata ? [] : Self.metadataChunks(prompt: prompt, extraPNGInfo: extraPNGInfo)
        var results: [JSONValue] = []
        var counter = plan.counter
        for index in 0..<images.shape[0] {
            let pixels = images.imagePixels(batch: index)
            let png: [UInt8]
            do {
                png = try encodePNG(pixels, width: width, height: height, channels: channels,
                                    compressLevel: compressLevel, textChunks: chunks)
            } catch let error as MediaError {
                throw NodeError("PNG encoding failed: \(error.message)", type: "loom.MediaError")
            }
            let file = plan.fileName(counter: counter, batchIndex: index)
            guard SafePath.isSafeComponent(file) else { throw NodeError("Invalid output file name '\(file)'") }
            try FileWriter.write(png, to: plan.path(of: file))
            results.append(.object(JSONObject([
                ("filename", .string(file)), ("subfolder", .string(plan.subfolder)), ("type", .string(kind.rawValue)),
            ])))
            counter += 1
        }
        return JSONObject([("images", .array(results))])
    }

    /// `prompt` (when present) then one chunk per `extra_pnginfo` key, each value as ASCII JSON
    /// like Python's `json.dumps`. Keys that PNG cannot store are skipped.
    static func metadataChunks(prompt: JSONValue, extraPNGInfo: JSONValue?) -> [(String, String)] {
        var chunks: [(String, String)] = []
        if !prompt.isNull { chunks.append(("prompt", PythonJSON.dumps(prompt))) }
        if let extra = extraPNGInfo?.objectValue {
            for (key, value) in extra where isValidPNGKeyword(key) {
                chunks.append((key, PythonJSON.dumps(value)))
            }
        }
        return chunks
    }
}
