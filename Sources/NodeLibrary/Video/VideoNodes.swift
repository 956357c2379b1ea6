import FolderPaths
import Foundation
import MediaIO
import TensorCore
import Workflow

/// ComfyUI's core video nodes (comfy_extras.nodes_video): `CreateVideo`, `SaveVideo`, `SaveWEBM`,
/// `GetVideoComponents` and `LoadVideo`, over the VIDEO value (``VideoValue``) and ffmpeg.
enum VideoNodes {
    static func create(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "CreateVideo", displayName: "Create Video", description: "Create a video from images.",
            category: "image/video", pythonModule: "comfy_extras.nodes_video",
            required: [
                InputSpec("images", .socket(SocketType.image), tooltip: "The images to create a video from."),
                InputSpec("fps", .float(FloatOptions(default: 30.0, min: 1.0, max: 120.0, step: 1.0))),
            ],
            optional: [InputSpec("audio", .socket(SocketType.audio), tooltip: "The audio to add to the video.")],
            outputs: [OutputSpec(SocketType.video)],
            searchAliases: ["images to video"], isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let images = try inv.image("images")
            let fps = try inv.double("fps")
            guard fps.isFinite, fps > 0 else { throw NodeError("fps must be positive, got \(fps)") }
            let components = VideoComponents(images: images, frameRate: fps, audio: try inv.audio("audio"))
            return NodeResult(outputs: [.object(VideoValue.components(components))])
        }
    }

    static func save(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SaveVideo", displayName: "Save Video", description: "Saves the input images to your ComfyUI output directory.",
            category: "image/video", pythonModule: "comfy_extras.nodes_video", isOutputNode: true,
            required: [
                InputSpec("video", .socket(SocketType.video), tooltip: "The video to save."),
                InputSpec("filename_prefix", .string(StringOptions(default: "video/ComfyUI")),
                          tooltip: "The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes."),
                InputSpec("format", .combo(ComboOptions(["auto", "mp4"], default: "auto", v3Encoding: true)),
                          tooltip: "The format to save the video as."),
                InputSpec("codec", .combo(ComboOptions(["auto", "h264"], default: "auto", v3Encoding: true)),
                          tooltip: "The codec to use for the video."),
            ],
            hidden: [.prompt, .extraPNGInfo],
            searchAliases: ["export video"], isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let video = try inv.video("video")
            let prefix = try inv.string("filename_prefix")
            let format = try inv.string("format"), codec = try inv.string("codec")
            guard ["auto", "mp4"].contains(format) else { throw NodeError("Unsupported video format '\(format)' (auto or mp4)") }
            guard ["auto", "h264"].contains(codec) else { throw NodeError("Unsupported video codec '\(codec)' (auto or h264)") }
            let tools = try MediaNodeSupport.tools()
            // A file is probed once, for its size here and its codec when saving.
            var info: VideoInfo?
            if case .file(let source) = video { info = try MediaNodeSupport.probe(source, tools: tools) }
            let (w, h): (Int, Int)
            switch video {
            case .components(let c): (w, h) = (c.images.shape[2], c.images.shape[1])
            case .file: (w, h) = (info?.displayWidth ?? 0, info?.displayHeight ?? 0)
            }
            let plan = try MediaNodeSupport.plan(prefix: prefix, in: env.directories.output, kind: .output, width: w, height: h)
            let file = plan.fileName(counter: plan.counter, extension: "mp4")
            guard SafePath.isSafeComponent(file) else { throw NodeError("Invalid output file name '\(file)'") }
            let metadata = MediaNodeSupport.metadata(prompt: inv.prompt, extraPNGInfo: inv.extraPNGInfo,
                                                     disabled: env.disableMetadata, promptFirst: false)
            try saveMP4(video, info: info, to: plan.path(of: file), codec: codec, metadata: metadata, tools: tools, env: env,
                        context: inv.context)
            return NodeResult(outputs: [], ui: MediaNodeSupport.preview(file, subfolder: plan.subfolder, animated: true))
        }
    }

    /// Writes `video` as MP4: a file whose codec fits is copied stream by stream with the new metadata
    /// (ComfyUI's `VideoFromFile.save_to`); anything else is encoded as H.264 yuv420p (libx264 defaults:
    /// crf 23, preset medium), with an AAC track when it has audio.
    static func saveMP4(_ video: VideoValue, info: VideoInfo?, to path: String, codec: String, metadata: [(key: String, value: String)],
                        tools: FFmpegTools, env: NodeEnvironment, context: any NodeExecutionContext) throws {
        if case .file(let source) = video, let info {
            if codec == "auto" || info.codecName == "h264" {
                do {
                    try remuxVideo(tools: tools, inputPath: source, outputPath: path, metadata: metadata)
                    return
                } catch {
                    // The stream cannot go into MP4 as it is (e.g. a codec MP4 does not carry): re-encode.
                    try? FileManager.default.removeItem(atPath: path)
                }
            }
        }
        let components = try video.components(tools: tools, maxPixels: env.maxPixels, info: info)
        try encode(components, to: path, videoArguments: ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
                   audioArguments: ["-c:a", "aac"], metadata: metadata, tools: tools, context: context)
    }

    /// Encodes frames (padded to even sizes for 4:2:0) and muxes the audio, if any, in a second pass.
    static func encode(_ components: VideoComponents, to path: String, videoArguments: [String],
                       audioArguments: [String], metadata: [(key: String, value: String)], tools: FFmpegTools,
                       context: any NodeExecutionContext) throws {
        let images = components.images
        let w = images.shape[2], h = images.shape[1], count = images.shape[0]
        let pw = w + w % 2, ph = h + h % 2
        let clip = try components.audio.map { try $0.clip() }.flatMap { $0.samples.isEmpty ? nil : $0 }
        let ext = path.split(separator: ".").last.map(String.init) ?? "mp4"
        let videoPath = clip == nil ? path : path + ".noaudio." + ext
        defer { if clip != nil { try? FileManager.default.removeItem(atPath: videoPath) } }
        let fps = (components.frameRate * 1000).rounded() / 1000
        try MediaNodeSupport.wrap("Video encoding failed") {
            let encoder = try VideoEncoder(tools: tools, outputPath: videoPath, width: pw, height: ph, frameRate: fps,
                                           inputFormat: .rgb24, outputArguments: videoArguments,
                                           metadata: metadata)
            do {
                try MediaNodeSupport.streamFrames(images, order: Array(0..<count), format: .rgb24, rounded: false,
                                                  paddedWidth: pw, paddedHeight: ph, context: context) { try encoder.write($0) }
            } catch {
                encoder.cancel()
                throw error
            }
            _ = try encoder.finish()
            if let clip {
                try muxAudio(tools: tools, videoPath: videoPath, audio: clip, audioArguments: audioArguments,
                             outputPath: path, padToSeconds: nil, trimToAudio: false)
            }
        }
    }

    static func saveWEBM(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SaveWEBM", category: "image/video", pythonModule: "comfy_extras.nodes_video", isOutputNode: true,
            required: [
                InputSpec("images", .socket(SocketType.image)),
                InputSpec("filename_prefix", .string(StringOptions(default: "ComfyUI"))),
                InputSpec("codec", .combo(ComboOptions(["vp9", "av1"], v3Encoding: true))),
                InputSpec("fps", .float(FloatOptions(default: 24.0, min: 0.01, max: 1000.0, step: 0.01))),
                InputSpec("crf", .float(FloatOptions(default: 32.0, min: 0, max: 63.0, step: 1)),
                          tooltip: "Higher crf means lower quality with a smaller file size, lower crf means higher quality higher filesize."),
            ],
            hidden: [.prompt, .extraPNGInfo],
            experimental: true, searchAliases: ["export webm"], isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let images = try inv.image("images")
            let prefix = try inv.string("filename_prefix")
            let codec = try inv.string("codec")
            let fps = try inv.double("fps"), crf = try inv.double("crf")
            guard fps.isFinite, fps > 0 else { throw NodeError("fps must be positive, got \(fps)") }
            let crfText = crf == crf.rounded() ? String(Int(crf)) : String(crf)
            let args: [String]
            switch codec {
            case "vp9": args = ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-crf", crfText]
            case "av1": args = ["-c:v", "libsvtav1", "-pix_fmt", "yuv420p10le", "-b:v", "0", "-crf", crfText, "-preset", "6"]
            default: throw NodeError("Unsupported WEBM codec '\(codec)' (vp9 or av1)")
            }
            let tools = try MediaNodeSupport.tools()
            let plan = try MediaNodeSupport.plan(prefix: prefix, in: env.directories.output, kind: .output,
                                                 width: images.shape[2], height: images.shape[1])
            let file = plan.fileName(counter: plan.counter, extension: "webm")
            guard SafePath.isSafeComponent(file) else { throw NodeError("Invalid output file name '\(file)'") }
            let metadata = MediaNodeSupport.metadata(prompt: inv.prompt, extraPNGInfo: inv.extraPNGInfo, disabled: env.disableMetadata)
            try encode(VideoComponents(images: images, frameRate: fps), to: plan.path(of: file), videoArguments: args,
                       audioArguments: [], metadata: metadata, tools: tools, context: inv.context)
            return NodeResult(outputs: [], ui: MediaNodeSupport.preview(file, subfolder: plan.subfolder, animated: true))
        }
    }

    static func components(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "GetVideoComponents", displayName: "Get Video Components",
            description: "Extracts all components from a video: frames, audio, and framerate.",
            category: "image/video", pythonModule: "comfy_extras.nodes_video",
            required: [InputSpec("video", .socket(SocketType.video), tooltip: "The video to extract components from.")],
            outputs: [OutputSpec(SocketType.image, name: "images"), OutputSpec(SocketType.audio, name: "audio"),
                      OutputSpec("FLOAT", name: "fps")],
            searchAliases: ["extract frames", "split video", "video to images", "demux"], isV3: true
        )
        return NodeDefinition(schema: schema) { inv in
            let video = try inv.video("video")
            let parts: VideoComponents
            if case .components(let c) = video { parts = c } else {
                parts = try video.components(tools: MediaNodeSupport.tools(), maxPixels: env.maxPixels)
            }
            // No audio track: an empty waveform, which the video encoders treat as "no audio".
            let audio = parts.audio ?? AudioValue(waveform: Tensor(zeros: [1, 1, 0]), sampleRate: 44100)
            return NodeResult(outputs: [.tensor(parts.images), .object(audio), .float(parts.frameRate)])
        }
    }

    static func load(_ env: NodeEnvironment) -> NodeDefinition {
        let directories = env.directories
        let schema = NodeSchema(
            name: "LoadVideo", displayName: "Load Video", category: "image/video", pythonModule: "comfy_extras.nodes_video",
            required: [
                InputSpec("file", .combo(ComboOptions(dynamic: { directories.inputVideos() }, v3Encoding: true)),
                          extra: JSONObject([("video_upload", .bool(true))])),
            ],
            outputs: [OutputSpec(SocketType.video)],
            searchAliases: ["import video", "open video", "video file"], isV3: true
        )
        return NodeDefinition(
            schema: schema,
            fingerprint: { constants in
                guard let name = constants["file"]?.stringValue, let path = try? directories.resolveAnnotated(name),
                      let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                      let date = attributes[.modificationDate] as? Date else { return nil }
                return .double(date.timeIntervalSince1970)
            },
            validate: { constants in
                guard let value = constants["file"] else { return nil }
                guard let name = value.stringValue, directories.annotatedFileExists(name) else {
                    return ValidationFailure(inputName: "file", reason: "Invalid video file: \(value.stringValue ?? value.jsonString())")
                }
                return nil
            },
            validatedInputs: ["file"],
            execute: { inv in
                let name = try inv.string("file")
                let path: String
                do {
                    path = try directories.resolveAnnotated(name)
                } catch let error as PathError {
                    throw NodeError("Invalid video file: \(name) (\(error.message))", type: "loom.PathError")
                }
                guard directories.annotatedFileExists(name) else { throw NodeError("Invalid video file: \(name)") }
                // Probe now so a file that is not a video fails here, not in a later node.
                _ = try MediaNodeSupport.probe(path, tools: MediaNodeSupport.tools())
                return NodeResult(outputs: [.object(VideoValue.file(path: path))])
            }
        )
    }
}
