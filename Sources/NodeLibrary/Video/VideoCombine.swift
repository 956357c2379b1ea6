import FolderPaths
import Foundation
import MediaIO
import TensorCore
import Workflow

/// VideoHelperSuite's output value `(save_output, [paths])`.
public struct VHSFilenames: Sendable {
    public var saveOutput: Bool
    public var paths: [String]
}

/// VideoHelperSuite's `VHS_VideoCombine` ("Video Combine"), the node most video workflows end in: writes a
/// first-frame PNG that carries the workflow, then the frames as an animated image (`image/gif`,
/// `image/webp`) or, through ffmpeg, a video in one of VideoHelperSuite's formats, optionally with audio.
/// The UI entry goes under `gifs` with `format`, `frame_rate`, `workflow` and `fullpath`.
///
/// Per-format widgets (`pix_fmt`, `crf`, `save_metadata`, …) are not declared inputs: like the real node,
/// whose hidden dict accepts every key, it reads them from the prompt as extra inputs, with each
/// widget's default when absent. Not supported: LATENT input with a VAE, `meta_batch`.
enum VideoCombineNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        var schema = NodeSchema(
            name: "VHS_VideoCombine", displayName: "Video Combine 🎥🅥🅗🅢", category: "Video Helper Suite 🎥🅥🅗🅢",
            pythonModule: "custom_nodes.ComfyUI-VideoHelperSuite", isOutputNode: true,
            required: [
                InputSpec("images", .socket(SocketType.image)),
                InputSpec("frame_rate", .float(FloatOptions(default: 8, min: 1, step: 1))),
                InputSpec("loop_count", .int(IntOptions(default: 0, min: 0, max: .int(100), step: 1))),
                InputSpec("filename_prefix", .string(StringOptions(default: "AnimateDiff"))),
                InputSpec("format", .combo(ComboOptions(VHSFormat.formatChoices)),
                          extra: JSONObject([("formats", .object(VHSFormat.formatWidgets))])),
                InputSpec("pingpong", .boolean(BoolOptions(default: false))),
                InputSpec("save_output", .boolean(BoolOptions(default: true))),
            ],
            optional: [
                InputSpec("audio", .socket(SocketType.audio)),
                InputSpec("meta_batch", .socket("VHS_BatchManager")),
                InputSpec("vae", .socket(SocketType.vae)),
            ],
            hidden: [.prompt, .extraPNGInfo, .uniqueID],
            outputs: [OutputSpec("VHS_FILENAMES", name: "Filenames")]
        )
        schema.acceptsUndeclaredInputs = true
        return NodeDefinition(schema: schema) { inv in
            let result = try combine(inv, env: env)
            return result
        }
    }

    static func combine(_ inv: NodeInvocation, env: NodeEnvironment) throws -> NodeResult {
        if inv["meta_batch"] != nil { throw NodeError("Video Combine: meta_batch (batched output) is not supported") }
        let images = try inv.image("images")
        let frameRate = try inv.double("frame_rate")
        guard frameRate.isFinite, frameRate > 0 else { throw NodeError("frame_rate must be positive, got \(frameRate)") }
        let loopCount = Int(try inv.int("loop_count"))
        let prefix = try inv.string("filename_prefix")
        let format = try inv.string("format")
        let pingpong = try inv.bool("pingpong")
        let saveOutput = try inv.bool("save_output")
        let audio = try inv.audio("audio")

        let (frames, height, width, channels) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let kind: FileKind = saveOutput ? .output : .temp
        let root = saveOutput ? env.directories.output : env.directories.temp
        // VideoHelperSuite plans the path without the image size (%width%/%height% become 0).
        let plan = try MediaNodeSupport.plan(prefix: prefix, in: root, kind: kind, width: 0, height: 0)
        let counter = nextCounter(in: plan.folder, stem: plan.filename)
        let stem = "\(plan.filename)_\(String(format: "%05d", counter))"

        // The first frame as a PNG that carries the prompt and workflow.
        var pngChunks = ImageSaver.metadataChunks(prompt: env.disableMetadata ? .null : inv.prompt,
                                                  extraPNGInfo: env.disableMetadata ? nil : inv.extraPNGInfo)
        pngChunks.append(("CreationTime", creationTime()))
        let firstImageFile = stem + ".png"
        let firstChannels = channels == 4 ? 4 : 3
        let png = try MediaNodeSupport.wrap("PNG encoding failed") {
            try encodePNG(images.imagePixels(batch: 0, channels: firstChannels, rounded: true), width: width, height: height,
                          channels: firstChannels, compressLevel: 4, textChunks: pngChunks)
        }
        try FileWriter.write(png, to: plan.path(of: firstImageFile))
        var outputFiles = [plan.path(of: firstImageFile)]

        let parts = format.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw NodeError("Unknown video format '\(format)'") }
        var order = Array(0..<frames)
        if pingpong { order = MediaNodeSupport.pingpong(frames) }
        var file: String
        var reportedFormat = format

        if parts[0] == "image" {
            file = "\(stem).\(parts[1])"
            let path = plan.path(of: file)
            let duration = max(1, Int((1000 / frameRate).rounded()))
            switch parts[1] {
            case "webp":
                let lossless = inv["lossless"].flatMap { if case .bool(let b) = $0 { return b } else { return nil } } ?? true
                let bytes = try MediaNodeSupport.wrap("WEBP encoding failed") { () -> [UInt8] in
                    let writer = try AnimatedWEBPWriter(width: width, height: height, loopCount: loopCount, quality: 80,
                                                        lossless: lossless, method: 4)
                    for (n, i) in order.enumerated() {
                        try inv.context.progress(n, of: order.count)
                        try writer.add(images.imagePixels(batch: i, channels: firstChannels, rounded: true),
                                       channels: firstChannels, durationMilliseconds: duration)
                    }
                    return try writer.finish(exif: nil)
                }
                try FileWriter.write(bytes, to: path)
            case "gif":
                let tools = try MediaNodeSupport.tools()
                let args = ["-filter_complex", VHSFormat.gifFilterTemplate.replacingOccurrences(of: "$val", with: "sierra2_4a"),
                            "-loop", String(loopCount)]
                try encodeFrames(images, order: order, to: path, width: width, height: height, frameRate: frameRate,
                                 format: channels == 4 ? .rgba : .rgb24, preInput: [], output: args, metadata: [],
                                 tools: tools, context: inv.context)
            default:
                throw NodeError("Unknown video format '\(format)' (image formats: image/gif, image/webp)")
            }
            outputFiles.append(path)
        } else if parts[0] == "video", let videoFormat = VHSFormat.named(parts[1]) {
            let tools = try MediaNodeSupport.tools()
            let values = VHSWidgetValues(inputs: inv.inputs, widgets: videoFormat.widgets, hasAlpha: channels == 4)
            // 4:2:0 and most codecs need even sizes: pad by repeating edge pixels, as VideoHelperSuite does.
            let pw = width + width % 2, ph = height + height % 2
            let sixteen = videoFormat.sixteenBitInput(values)
            let rawFormat: RawPixelFormat = sixteen ? (channels == 4 ? .rgba64le : .rgb48le) : (channels == 4 ? .rgba : .rgb24)
            let preInput = ["-color_range", "pc", "-colorspace", "rgb", "-color_primaries", "bt709",
                            "-color_trc", videoFormat.fakeTRC ?? "iec61966-2-1"]
            var output: [String] = []
            if loopCount > 0 { output += ["-vf", "loop=loop=\(loopCount):size=\(order.count)"] }
            output += videoFormat.mainPass(values) + videoFormat.extraArguments(values)
            output = VHSFormat.mergeFilters(output).filter { $0 != "-n" }
            let saveMetadata = videoFormat.hasSaveMetadataWidget && values.bool("save_metadata")
            var metadata = saveMetadata
                ? MediaNodeSupport.metadata(prompt: inv.prompt, extraPNGInfo: inv.extraPNGInfo, disabled: env.disableMetadata)
                : []
            if !metadata.isEmpty { metadata.append(("creation_time", iso8601Now())) }
            file = "\(stem).\(videoFormat.fileExtension)"
            let path = plan.path(of: file)
            try encodeFrames(images, order: order, to: path, width: pw, height: ph, frameRate: frameRate, format: rawFormat,
                             preInput: preInput, output: output, metadata: metadata, tools: tools, context: inv.context)
            outputFiles.append(path)
            if let clip = try audio?.clip(), !clip.samples.isEmpty {
                let audioFile = "\(stem)-audio.\(videoFormat.fileExtension)"
                let trim = videoFormat.hasTrimToAudioWidget && values.bool("trim_to_audio")
                try MediaNodeSupport.wrap("Adding audio failed") {
                    try muxAudio(tools: tools, videoPath: path, audio: clip,
                                 audioArguments: videoFormat.audioPass ?? ["-c:a", "libopus"], outputPath: plan.path(of: audioFile),
                                 padToSeconds: trim ? nil : Double(order.count) / frameRate + 1, trimToAudio: trim)
                }
                outputFiles.append(plan.path(of: audioFile))
                file = audioFile
            }
        } else {
            throw NodeError("Unknown video format '\(format)'; choose one of \(VHSFormat.formatChoices.joined(separator: ", "))")
        }
        if frames == 1 && format.contains("png") && file.contains("%03d") {
            reportedFormat = "image/png"
            file = file.replacingOccurrences(of: "%03d", with: "001")
        }
        let preview = JSONObject([
            ("filename", .string(file)), ("subfolder", .string(plan.subfolder)), ("type", .string(kind.rawValue)),
            ("format", .string(reportedFormat)), ("frame_rate", .double(frameRate)), ("workflow", .string(firstImageFile)),
            ("fullpath", .string(outputFiles.last ?? "")),
        ])
        return NodeResult(outputs: [.object(VHSFilenames(saveOutput: saveOutput, paths: outputFiles))],
                          ui: JSONObject([("gifs", .array([.object(preview)]))]))
    }

    /// Streams frames into one ffmpeg process.
    static func encodeFrames(_ images: Tensor, order: [Int], to path: String, width: Int, height: Int, frameRate: Double,
                             format: RawPixelFormat, preInput: [String], output: [String],
                             metadata: [(key: String, value: String)], tools: FFmpegTools,
                             context: any NodeExecutionContext) throws {
        try MediaNodeSupport.wrap("ffmpeg failed") {
            let encoder = try VideoEncoder(tools: tools, outputPath: path, width: width, height: height, frameRate: frameRate,
                                           inputFormat: format, preInputArguments: preInput, outputArguments: output,
                                           metadata: metadata)
            do {
                try MediaNodeSupport.streamFrames(images, order: order, format: format, rounded: true, paddedWidth: width,
                                                  paddedHeight: height, context: context) { try encoder.write($0) }
            } catch {
                encoder.cancel()
                throw error
            }
            _ = try encoder.finish()
        }
    }

    /// VideoHelperSuite's counter: 1 + the largest N among files named `<stem>_<N><non-digits>.<ext>`
    /// (case-insensitive), so the PNG, the video and the `-audio` file of one run share a number.
    static func nextCounter(in folder: String, stem: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let lowerStem = stem.lowercased() + "_"
        var best = 0
        for name in names {
            let lower = name.lowercased()
            guard lower.hasPrefix(lowerStem) else { continue }
            let rest = lower.dropFirst(lowerStem.count)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let n = Int(digits) else { continue }
            // Then non-digits up to a dot that has at least one character after it.
            let tail = Array(rest.dropFirst(digits.count))
            let nonDigits = tail.prefix { !($0.isASCII && $0.isNumber) }
            guard nonDigits.indices.contains(where: { nonDigits[$0] == "." && $0 + 1 < tail.count }) else { continue }
            best = max(best, n)
        }
        return best + 1
    }

    /// `YYYY-MM-DD HH:MM:SS` local time (the PNG's CreationTime text).
    static func creationTime() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: Date())
    }

    static func iso8601Now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}
