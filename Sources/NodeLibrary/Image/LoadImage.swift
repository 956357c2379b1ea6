import FolderPaths
import MediaIO
import TensorCore
import Workflow

/// ComfyUI's `LoadImage`: reads a file from `input/` (or an annotated `[output]`/`[temp]` name, or
/// `sub/x.png`) and returns IMAGE plus MASK.
///
/// MASK is `1 − alpha` when the file has an alpha channel (or a palette with transparency), else a
/// 64×64 zero mask. Multi-frame files (animated WEBP) give a batch of the frames that share the first
/// frame's size. 16-bit PNGs are read at full precision (v/65535). The fingerprint is the file's
/// SHA-256; validation requires the file to exist inside its directory.
enum LoadImageNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let directories = env.directories
        let schema = NodeSchema(
            name: "LoadImage", displayName: "Load Image", category: "image", pythonModule: "nodes",
            required: [
                InputSpec("image", .combo(ComboOptions(dynamic: { directories.inputImages() })),
                          extra: JSONObject([("image_upload", .bool(true))])),
            ],
            outputs: [OutputSpec(SocketType.image), OutputSpec(SocketType.mask)]
        )
        return NodeDefinition(
            schema: schema,
            fingerprint: { constants in
                guard let name = constants["image"]?.stringValue,
                      let path = try? directories.resolveAnnotated(name),
                      let digest = try? SHA256.hex(ofFile: path) else { return nil }
                return .string(digest)
            },
            validate: { constants in
                guard let value = constants["image"] else { return nil } // linked: checked when it runs
                guard let name = value.stringValue else {
                    return ValidationFailure(inputName: "image", reason: "Invalid image file: \(value.jsonString())")
                }
                if directories.annotatedFileExists(name) { return nil }
                return ValidationFailure(inputName: "image", reason: "Invalid image file: \(name)")
            },
            validatedInputs: ["image"],
            execute: { inv in
                let name = try inv.string("image")
                let path: String
                do {
                    path = try directories.resolveAnnotated(name)
                } catch let error as PathError {
                    throw NodeError("Invalid image file: \(name) (\(error.message))", type: "loom.PathError")
                }
                let (image, mask) = try load(path: path, name: name, maxPixels: env.maxPixels)
                return NodeResult(outputs: [.tensor(image), .tensor(mask)])
            }
        )
    }

    /// Decodes a file into ComfyUI's (IMAGE, MASK) pair.
    /// - Throws: ``NodeError`` for unreadable, unsupported or oversize files.
    static func load(path: String, name: String, maxPixels: Int) throws -> (Tensor, Tensor) {
        let bytes = try FileWriter.read(path)
        let frames: [DecodedImage]
        do {
            frames = bytes.starts(with: Array("GIF8".utf8))
                ? try decodeGIF(path: path, maxPixels: maxPixels)
                : try decodeImage(bytes, maxPixels: maxPixels)
        } catch let error as MediaError {
            throw NodeError("Cannot load image \(name): \(error.message)", type: "loom.MediaError")
        }
        let kept = Tensor.sameSizeFrames(frames)
        guard !kept.isEmpty else { throw NodeError("Cannot load image \(name): no frames") }
        let image = Tensor.image(frames: kept)
        let masks = kept.map(mask(of:))
        return (image, Tensor.concatenate(batches: masks))
    }

    /// A GIF's frames, composited by ffmpeg's GIF decoder, as RGBA. Frames count as having alpha (so
    /// the mask is 1 − alpha) when any pixel of the file is transparent, as Pillow reports a GIF with a
    /// transparent colour.
    static func decodeGIF(path: String, maxPixels: Int) throws -> [DecodedImage] {
        let tools = try FFmpegTools.locate()
        var frames: [DecodedImage] = []
        var transparent = false
        let (info, _) = try decodeVideoFrames(tools: tools, path: path, pixelFormat: .rgba, maxPixels: maxPixels) { frame, _ in
            let pixels = Array(frame.bindMemory(to: UInt8.self))
            if !transparent { transparent = stride(from: 3, to: pixels.count, by: 4).contains { pixels[$0] < 255 } }
            frames.append(DecodedImage(width: 0, height: 0, channels: 4, samples: .uint8(pixels), alpha: .none))
        }
        let duration = info.frameRate > 0 ? Int((1000 / info.frameRate).rounded()) : nil
        return frames.map {
            var f = $0
            f.width = info.displayWidth
            f.height = info.displayHeight
            f.alpha = transparent ? .channel : .none
            f.durationMilliseconds = duration
            return f
        }
    }

    /// One frame's mask `[1, H, W]` = 1 − alpha, or `[1, 64, 64]` zeros without transparency.
    /// Pillow keeps alpha for RGBA/LA and palette+tRNS, not for a gray/RGB colour key.
    static func mask(of frame: DecodedImage) -> Tensor {
        guard frame.alpha == .channel || frame.alpha == .palette, let alpha = Tensor.alpha(of: frame) else {
            return Tensor(repeating: 0, shape: [1, 64, 64])
        }
        return Tensor(shape: [1, frame.height, frame.width], scalars: alpha.map { 1 - $0 })
    }
}
