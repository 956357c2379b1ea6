import FolderPaths
import Foundation
import MediaIO
import TensorCore
import Workflow

/// Shared plumbing of the animation and video nodes: finding ffmpeg, metadata, frame conversion and
/// streaming an IMAGE batch into an encoder one frame at a time.
enum MediaNodeSupport {
    /// The ffmpeg tools, or a node error that says how to install them.
    static func tools() throws -> FFmpegTools {
        do {
            return try FFmpegTools.locate()
        } catch let error as MediaError {
            throw NodeError(error.message, type: "loom.MediaError")
        }
    }

    static func probe(_ path: String, tools: FFmpegTools) throws -> VideoInfo {
        do {
            return try probeVideo(tools: tools, path: path)
        } catch let error as MediaError {
            throw NodeError("Cannot read video \(fileName(path)): \(error.message)", type: "loom.MediaError")
        }
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// ComfyUI's metadata for containers and EXIF: `prompt` then each `extra_pnginfo` key, values as
    /// Python's `json.dumps` writes them. Empty when metadata is disabled.
    static func metadata(prompt: JSONValue, extraPNGInfo: JSONValue?, disabled: Bool,
                         promptFirst: Bool = true) -> [(key: String, value: String)] {
        guard !disabled else { return [] }
        var entries: [(key: String, value: String)] = []
        let promptEntry: (key: String, value: String)? = prompt.isNull ? nil : ("prompt", PythonJSON.dumps(prompt))
        if promptFirst, let promptEntry { entries.append(promptEntry) }
        if let extra = extraPNGInfo?.objectValue {
            for (key, value) in extra where key != "prompt" || promptEntry == nil {
                entries.append((key, PythonJSON.dumps(value)))
            }
        }
        if !promptFirst, let promptEntry { entries.append(promptEntry) }
        return entries
    }

    /// Runs an encoder over the frames of `images` (in `order`), converting one frame at a time, padding
    /// each to `paddedWidth × paddedHeight` by repeating edge pixels (VideoHelperSuite's replication pad,
    /// split left/right and top/bottom), and reporting progress per frame.
    static func streamFrames(_ images: Tensor, order: [Int], format: RawPixelFormat, rounded: Bool,
                             paddedWidth: Int, paddedHeight: Int, context: any NodeExecutionContext,
                             write: ([UInt8]) throws -> Void) throws {
        let w = images.shape[2], h = images.shape[1]
        let channels = (format == .rgba || format == .rgba64le) ? 4 : 3
        let sixteen = format == .rgb48le || format == .rgba64le
        let left = (paddedWidth - w) / 2, top = (paddedHeight - h) / 2
        for (n, index) in order.enumerated() {
            try context.progress(n, of: order.count)
            var bytes: [UInt8]
            if sixteen {
                let samples = images.imagePixels16(batch: index, channels: channels)
                bytes = [UInt8](repeating: 0, count: samples.count * 2)
                for (i, s) in samples.enumerated() {
                    bytes[2 * i] = UInt8(truncatingIfNeeded: s)
                    bytes[2 * i + 1] = UInt8(truncatingIfNeeded: s >> 8)
                }
            } else {
                bytes = images.imagePixels(batch: index, channels: channels, rounded: rounded)
            }
            if paddedWidth != w || paddedHeight != h {
                bytes = pad(bytes, width: w, height: h, pixelBytes: channels * (sixteen ? 2 : 1),
                            toWidth: paddedWidth, toHeight: paddedHeight, left: left, top: top)
            }
            try write(bytes)
        }
        try context.progress(order.count, of: order.count)
    }

    /// Replication padding of one interleaved frame.
    static func pad(_ src: [UInt8], width: Int, height: Int, pixelBytes: Int, toWidth: Int, toHeight: Int,
                    left: Int, top: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: toWidth * toHeight * pixelBytes)
        for y in 0..<toHeight {
            let sy = min(max(y - top, 0), height - 1)
            for x in 0..<toWidth {
                let sx = min(max(x - left, 0), width - 1)
                let s = (sy * width + sx) * pixelBytes, d = (y * toWidth + x) * pixelBytes
                for k in 0..<pixelBytes { out[d + k] = src[s + k] }
            }
        }
        return out
    }

    /// Frames `0..<n` then back down to 1 (VideoHelperSuite's pingpong).
    static func pingpong(_ n: Int) -> [Int] {
        Array(0..<n) + (n > 2 ? Array(stride(from: n - 2, to: 0, by: -1)) : [])
    }

    /// Turns a media failure into a node error (keeps node errors as they are).
    static func wrap<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as MediaError {
            throw NodeError("\(what): \(error.message)", type: "loom.MediaError")
        }
    }

    /// The output location for a saver, as a node error when the prefix escapes the folder.
    static func plan(prefix: String, in directory: String, kind: FileKind, width: Int, height: Int) throws -> OutputPath {
        do {
            return try OutputPath.next(prefix: prefix, in: directory, width: width, height: height)
        } catch let error as PathError {
            throw NodeError("Saving outside the \(kind.rawValue) folder is not allowed: \(error.description)", type: "loom.PathError")
        }
    }

    /// `{filename, subfolder, type}` for a UI dict.
    static func savedResult(_ file: String, subfolder: String, kind: FileKind) -> JSONValue {
        .object(JSONObject([("filename", .string(file)), ("subfolder", .string(subfolder)), ("type", .string(kind.rawValue))]))
    }

    /// ComfyUI's saved-animation UI entry: `{"images": [{filename, subfolder, type: "output"}]}` plus
    /// `"animated": [true]` when `animated`.
    static func preview(_ file: String, subfolder: String, animated: Bool) -> JSONObject {
        var ui = JSONObject([("images", .array([savedResult(file, subfolder: subfolder, kind: .output)]))])
        if animated { ui["animated"] = .array([.bool(true)]) }
        return ui
    }

    /// ComfyUI's fps → per-frame duration: `int(1000 / fps)` milliseconds.
    static func frameDuration(fps: Double) throws -> Int {
        guard fps.isFinite, fps > 0 else { throw NodeError("fps must be positive, got \(fps)") }
        return Int((1000.0 / fps).rounded(.towardZero))
    }
}
