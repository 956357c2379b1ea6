import ArgumentParser
import FolderPaths
import Foundation
import MediaIO
import NodeLibrary
import TensorCore
import Workflow

/// `loom bench media`: time and peak memory of the media savers on a synthetic clip (a moving gradient):
/// Video Combine to H.264 MP4, SaveAnimatedWEBP, SaveAnimatedPNG and CreateVideo → SaveVideo, each run
/// through the node library as a prompt would, beside the ffmpeg program encoding the same raw frames
/// from a file (the floor for the ffmpeg-based outputs).
struct BenchMedia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "media", abstract: "Media saver timings and peak memory.")

    @Option(help: "Frames in the clip.") var frames = 81
    @Option(help: "Frame size WIDTHxHEIGHT.") var size = "832x480"
    @Option(help: "Comma-separated savers to run: vhs-h264, webp, apng, savevideo.") var only = "vhs-h264,webp,apng,savevideo"

    func run() async throws {
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw ValidationError("--size must be WIDTHxHEIGHT") }
        let (width, height) = (parts[0], parts[1])
        let root = NSTemporaryDirectory() + "loom-bench-media-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directories = DataDirectories(base: root)
        try directories.createLayout()
        let env = NodeEnvironment(directories: directories)
        let registry = BuiltinNodes.registry(env)
        let clip = Self.clip(frames: frames, width: width, height: height)
        let clipMiB = Double(clip.count * 4) / 1_048_576
        print("clip: \(frames) frames of \(width)x\(height) RGB (IMAGE tensor \(String(format: "%.0f", clipMiB)) MiB)")

        let prompt: JSONValue = ["1": ["class_type": "bench"]]
        let runs: [(String, String, [String: NodeValue])] = [
            ("vhs-h264", "VHS_VideoCombine", ["images": .object(clip), "frame_rate": .float(16), "loop_count": .int(0),
                                              "filename_prefix": .string("bench"), "format": .string("video/h264-mp4"),
                                              "pix_fmt": .string("yuv420p"), "crf": .int(19), "save_metadata": .bool(true),
                                              "pingpong": .bool(false), "save_output": .bool(true)]),
            ("webp", "SaveAnimatedWEBP", ["images": .object(clip), "filename_prefix": .string("bench"), "fps": .float(16),
                                          "lossless": .bool(false), "quality": .int(85), "method": .string("default")]),
            ("apng", "SaveAnimatedPNG", ["images": .object(clip), "filename_prefix": .string("bench"), "fps": .float(16),
                                         "compress_level": .int(4)]),
        ]
        let selected = Set(only.split(separator: ",").map(String.init))
        for (name, node, inputs) in runs where selected.contains(name) {
            try measure(name) {
                _ = try registry[node]!.execute(NodeInvocation(inputs: inputs, prompt: prompt, extraPNGInfo: nil, context: BenchContext()))
            }
        }
        if selected.contains("savevideo") {
            try measure("savevideo") {
                let created = try registry["CreateVideo"]!.execute(NodeInvocation(inputs: ["images": .object(clip), "fps": .float(16)],
                                                                                  prompt: prompt, extraPNGInfo: nil, context: BenchContext()))
                _ = try registry["SaveVideo"]!.execute(NodeInvocation(
                    inputs: ["video": created.outputs[0], "filename_prefix": .string("bench"), "format": .string("auto"),
                             "codec": .string("auto")], prompt: prompt, extraPNGInfo: nil, context: BenchContext()))
            }
        }
        // The floor: ffmpeg alone encoding the same frames from a raw file with Video Combine's arguments.
        if selected.contains("vhs-h264") {
            let raw = root + "/frames.rgb"
            FileManager.default.createFile(atPath: raw, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: raw))
            for i in 0..<frames { try handle.write(contentsOf: Data(clip.imagePixels(batch: i, channels: 3, rounded: true))) }
            try handle.close()
            let tools = try FFmpegTools.locate()
            let start = Date()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tools.ffmpeg)
            process.arguments = ["-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-color_range", "pc", "-colorspace", "rgb",
                                 "-color_primaries", "bt709", "-color_trc", "bt709", "-s", "\(width)x\(height)", "-r", "16",
                                 "-i", raw, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "19", "-vf",
                                 "scale=out_color_matrix=bt709", "-color_range", "tv", "-colorspace", "bt709",
                                 "-color_primaries", "bt709", "-color_trc", "bt709", "-y", root + "/floor.mp4"]
            try process.run()
            process.waitUntilExit()
            print(String(format: "ffmpeg     %7.2f s   (ffmpeg alone on a raw file, same arguments)",
                         Date().timeIntervalSince(start)))
        }
    }

    /// Runs `body`, printing wall time and the peak resident memory it added over the clip already held.
    func measure(_ name: String, _ body: () throws -> Void) throws {
        BenchMemory.resetPeak()
        let before = BenchMemory.residentBytes()
        let start = Date()
        try body()
        let seconds = Date().timeIntervalSince(start)
        let peak = BenchMemory.peakResidentBytes()
        let padded = name.padding(toLength: 10, withPad: " ", startingAt: 0)
        // The ffmpeg child's own memory is not included (getrusage's child figure counts the parent's pages
        // at fork, so it is not reported).
        print(String(format: "%@ %7.2f s   peak RSS %6.0f MiB (+%.0f MiB over the %.0f MiB before)",
                     padded, seconds, Double(peak) / 1_048_576, Double(peak - before) / 1_048_576, Double(before) / 1_048_576))
    }

    static func clip(frames: Int, width: Int, height: Int) -> Tensor {
        var s = [Float](repeating: 0, count: frames * height * width * 3)
        s.withUnsafeMutableBufferPointer { p in
            for f in 0..<frames {
                let phase = Float(f) / Float(max(frames, 1))
                for y in 0..<height {
                    for x in 0..<width {
                        let i = ((f * height + y) * width + x) * 3
                        let u = Float(x) / Float(width), v = Float(y) / Float(height)
                        p[i] = (u + phase).truncatingRemainder(dividingBy: 1)
                        p[i + 1] = v
                        p[i + 2] = 0.5 + 0.5 * sin(6.28 * (u * 3 + v * 2 + phase))
                    }
                }
            }
        }
        return Tensor(shape: [frames, height, width, 3], scalars: s)
    }
}

private struct BenchContext: NodeExecutionContext {
    var promptID = "bench"
    var nodeID = "1"
    func checkInterrupted() throws {}
    func progress(_ value: Int, of max: Int) throws {}
}
