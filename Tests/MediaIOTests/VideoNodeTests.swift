import Foundation
import Testing
import FolderPaths
import MediaIO
import TensorCore
import Workflow
@testable import NodeLibrary

/// A test clip: a colour gradient with a square moving one step per frame, in [0, 1].
func movingSquare(frames: Int, width: Int, height: Int, channels: Int = 3) -> Tensor {
    var s = [Float](repeating: 0, count: frames * height * width * channels)
    for f in 0..<frames {
        for y in 0..<height {
            for x in 0..<width {
                let i = ((f * height + y) * width + x) * channels
                let inSquare = x >= f * 2 && x < f * 2 + 12 && y >= 8 && y < 20
                s[i] = inSquare ? 1 : Float(x) / Float(max(width - 1, 1))
                s[i + 1] = inSquare ? 1 : Float(y) / Float(max(height - 1, 1))
                s[i + 2] = inSquare ? 0.2 : 0.5
                if channels == 4 { s[i + 3] = Float((x + y) % 2 == 0 ? 1 : 0.5) }
            }
        }
    }
    return Tensor(shape: [frames, height, width, channels], scalars: s)
}

/// Runs a command and returns its standard output.
func runTool(_ arguments: [String]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NodeError("\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return Array(data)
}

/// `ffprobe`'s JSON for a file: streams (with counted frames) and format.
func ffprobe(_ path: String) throws -> JSONValue {
    try JSONValue.parse(runTool(["ffprobe", "-v", "error", "-count_frames", "-print_format", "json", "-show_format",
                                 "-show_streams", path]))
}

/// Frames decoded by ffmpeg as RGB24.
func ffmpegFrames(_ path: String, pixelFormat: String = "rgb24") throws -> [UInt8] {
    try runTool(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", pixelFormat, "-"])
}

extension NodeFixture {
    func ui(_ result: NodeResult, _ key: String) throws -> JSONObject {
        let entry = try #require(result.ui?[key]?.arrayValue?.first?.objectValue)
        return entry
    }
}

@Suite struct ImageBatchNodeTests {
    @Test func fromBatchClampsAndCountsFromTheEnd() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 5, width: 8, height: 4)
        func pick(_ index: Int64, _ length: Int64) throws -> Tensor {
            f.tensor(try f.run("ImageFromBatch", ["image": .tensor(clip), "batch_index": .int(index), "length": .int(length)]))
        }
        #expect(try pick(1, 2) == clip.slice(batch: 1..<3).contiguous())
        #expect(try pick(4, 3) == clip.slice(batch: 4..<5).contiguous())
        #expect(try pick(99, 1) == clip.slice(batch: 4..<5).contiguous())
        #expect(try pick(-2, 5) == clip.slice(batch: 3..<5).contiguous())
        #expect(try pick(-99, 1) == clip.slice(batch: 0..<1).contiguous())
    }

    @Test func repeatTilesTheWholeBatch() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 2, width: 4, height: 4)
        let out = f.tensor(try f.run("RepeatImageBatch", ["image": .tensor(clip), "amount": .int(3)]))
        #expect(out.shape == [6, 4, 4, 3])
        for i in 0..<6 { #expect(out.slice(batch: i..<(i + 1)).contiguous() == clip.slice(batch: (i % 2)..<(i % 2 + 1)).contiguous()) }
        let small = NodeFixture(maxPixels: 100); defer { small.dir.cleanup() }
        #expect(throws: NodeError.self) { try small.run("RepeatImageBatch", ["image": .tensor(clip), "amount": .int(4096)]) }
    }

    @Test func rebatchRegroupsInOrder() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let a = movingSquare(frames: 3, width: 4, height: 4), b = movingSquare(frames: 2, width: 4, height: 4)
        let schema = f.registry["RebatchImages"]!.schema
        #expect(schema.isInputList && schema.outputs[0].isList)
        let result = try f.run("RebatchImages", ["images": .list([.tensor(a), .tensor(b)]), "batch_size": .list([.int(2)])])
        guard case .list(let batches) = result.outputs[0] else { Issue.record("not a list"); return }
        let shapes = batches.compactMap { v -> [Int]? in if case .object(let o) = v { return (o as? Tensor)?.shape } else { return nil } }
        #expect(shapes == [[2, 4, 4, 3], [2, 4, 4, 3], [1, 4, 4, 3]])
        guard case .object(let o) = batches[1], let second = o as? Tensor else { return }
        #expect(second.slice(batch: 0..<1).contiguous() == a.slice(batch: 2..<3).contiguous())
        #expect(second.slice(batch: 1..<2).contiguous() == b.slice(batch: 0..<1).contiguous())
    }
}

@Suite struct AnimatedSaverNodeTests {
    let prompt: JSONValue = ["1": ["class_type": "LoadImage", "inputs": ["image": "x.png"]]]
    let extra: JSONValue = ["workflow": ["nodes": [], "note": "a=b;#c"]]

    @Test func animatedWEBPIsLosslessWithWorkflowInEXIF() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 4, width: 40, height: 24)
        let result = try f.run("SaveAnimatedWEBP", ["images": .tensor(clip), "filename_prefix": "anim/clip", "fps": .float(8),
                                                    "lossless": .bool(true), "quality": .int(80), "method": "fastest"],
                               prompt: prompt, extra: extra)
        #expect(result.ui?["images"] == [["filename": "clip_00001_.webp", "subfolder": "anim", "type": "output"]])
        #expect(result.ui?["animated"] == [true])
        let bytes = try FileWriter.read(f.env.directories.output + "/anim/clip_00001_.webp")
        let file = try decodeImageFile(bytes)
        #expect(file.frames.count == 4)
        #expect(file.loopCount == 0)
        #expect(file.frames.map(\.durationMilliseconds) == [125, 125, 125, 125])
        for i in 0..<4 {
            let expected = clip.imagePixels(batch: i, channels: 3)
            let got = file.frames[i].pixels
            let c = file.frames[i].channels
            let rgb = (0..<(40 * 24)).flatMap { p in (0..<3).map { got[p * c + $0] } }
            let same = rgb == expected
            #expect(same, "frame \(i)")
        }
        let exif = try #require(webpEXIF(bytes))
        let entries = ExifASCII.entries(exif)
        let promptText = try #require(entries.first { $0.tag == 0x0110 }?.value)
        #expect(promptText.hasPrefix("prompt:"))
        #expect(try JSONValue.parse(String(promptText.dropFirst(7))) == prompt)
        let workflowText = try #require(entries.first { $0.tag == 0x010F }?.value)
        #expect(try JSONValue.parse(String(workflowText.dropFirst("workflow:".count))) == extra["workflow"])

        // A second save counts up; one frame is not reported as animated; --disable-metadata drops EXIF.
        let single = try f.run("SaveAnimatedWEBP", ["images": .tensor(clip.slice(batch: 0..<1).contiguous()), "filename_prefix": "anim/clip",
                                                    "fps": .float(6), "lossless": .bool(false), "quality": .int(50), "method": "default"])
        #expect(single.ui?["images"]?.arrayValue?.first?["filename"] == "clip_00002_.webp")
        #expect(single.ui?["animated"] == nil)
        let quiet = NodeFixture(disableMetadata: true); defer { quiet.dir.cleanup() }
        _ = try quiet.run("SaveAnimatedWEBP", ["images": .tensor(clip), "filename_prefix": "q", "fps": .float(8), "lossless": .bool(true),
                                              "quality": .int(80), "method": "slowest"], prompt: prompt, extra: extra)
        #expect(webpEXIF(try FileWriter.read(quiet.env.directories.output + "/q_00001_.webp")) == nil)
    }

    @Test func animatedPNGRoundTripsWithComfChunks() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 3, width: 33, height: 17, channels: 4)
        let result = try f.run("SaveAnimatedPNG", ["images": .tensor(clip), "filename_prefix": "apng", "fps": .float(4),
                                                   "compress_level": .int(9)], prompt: prompt, extra: extra)
        #expect(result.ui?["images"] == [["filename": "apng_00001_.png", "subfolder": "", "type": "output"]])
        #expect(result.ui?["animated"] == [true])
        let file = try decodeImageFile(try FileWriter.read(f.env.directories.output + "/apng_00001_.png"))
        #expect(file.frames.count == 3)
        #expect(file.frames.map(\.durationMilliseconds) == [250, 250, 250])
        for i in 0..<3 {
            let same = file.frames[i].pixels == clip.imagePixels(batch: i, channels: 4)
            #expect(same, "frame \(i)")
        }
        let comf = file.privateChunks
        #expect(comf.map(\.key) == ["prompt", "workflow"])
        #expect(try JSONValue.parse(comf[0].value) == prompt)
        #expect(try JSONValue.parse(comf[1].value) == extra["workflow"])
        // ffmpeg plays it as APNG with the same frames.
        let probe = try ffprobe(f.env.directories.output + "/apng_00001_.png")
        #expect(probe["streams"]?[0]?["codec_name"] == "apng")
        #expect(probe["streams"]?[0]?["nb_read_frames"] == "3")
    }

    @Test func badInputsAreNodeErrors() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 2, width: 8, height: 8)
        #expect(throws: NodeError.self) {
            try f.run("SaveAnimatedWEBP", ["images": .tensor(clip), "filename_prefix": "../escape", "fps": .float(8),
                                           "lossless": .bool(true), "quality": .int(80), "method": "default"])
        }
        #expect(throws: NodeError.self) {
            try f.run("SaveAnimatedWEBP", ["images": .tensor(clip), "filename_prefix": "x", "fps": .float(8),
                                           "lossless": .bool(true), "quality": .int(80), "method": "turbo"])
        }
        #expect(throws: NodeError.self) {
            try f.run("SaveAnimatedPNG", ["images": .tensor(Tensor(zeros: [0, 8, 8, 3])), "filename_prefix": "x", "fps": .float(8),
                                          "compress_level": .int(4)])
        }
    }
}

@Suite(.serialized) struct VideoCombineNodeTests {
    let prompt: JSONValue = ["9": ["class_type": "VHS_VideoCombine", "inputs": ["crf": 19]]]
    let extra: JSONValue = ["workflow": ["nodes": [["id": 9]], "text": "line1\nline2 = ; # \\ ✓"]]

    func combine(_ f: NodeFixture, _ images: Tensor, format: String, prefix: String = "AnimateDiff", frameRate: Double = 8,
                 loop: Int64 = 0, pingpong: Bool = false, save: Bool = true, extraInputs: [String: NodeValue] = [:],
                 audio: AudioValue? = nil) throws -> NodeResult {
        var inputs: [String: NodeValue] = ["images": .tensor(images), "frame_rate": .float(frameRate), "loop_count": .int(loop),
                                           "filename_prefix": .string(prefix), "format": .string(format), "pingpong": .bool(pingpong),
                                           "save_output": .bool(save)]
        if let audio { inputs["audio"] = .object(audio) }
        inputs.merge(extraInputs) { $1 }
        return try f.run("VHS_VideoCombine", inputs, prompt: prompt, extra: extra)
    }

    @Test func h264MP4LikeVideoHelperSuite() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 10, width: 64, height: 48)
        let result = try combine(f, clip, format: "video/h264-mp4", prefix: "vid/AnimateDiff",
                                 extraInputs: ["pix_fmt": "yuv420p", "crf": .int(19), "save_metadata": .bool(true)])
        let gif = try f.ui(result, "gifs")
        let folder = f.env.directories.output + "/vid"
        #expect(gif["filename"] == "AnimateDiff_00001.mp4")
        #expect(gif["subfolder"] == "vid" && gif["type"] == "output" && gif["format"] == "video/h264-mp4")
        #expect(gif["frame_rate"] == .double(8) && gif["workflow"] == "AnimateDiff_00001.png")
        #expect(gif["fullpath"] == .string(folder + "/AnimateDiff_00001.mp4"))
        guard case .object(let o) = result.outputs[0], let names = o as? VHSFilenames else { Issue.record("no filenames"); return }
        #expect(names.saveOutput && names.paths == [folder + "/AnimateDiff_00001.png", folder + "/AnimateDiff_00001.mp4"])

        let probe = try ffprobe(folder + "/AnimateDiff_00001.mp4")
        let stream = try #require(probe["streams"]?[0])
        #expect(stream["codec_name"] == "h264" && stream["pix_fmt"] == "yuv420p")
        #expect(stream["width"] == 64 && stream["height"] == 48)
        #expect(stream["avg_frame_rate"] == "8/1" && stream["nb_read_frames"] == "10")
        // The web frontend reads MP4 metadata from moov/udta/meta `keys` entries in the mdta namespace.
        let mp4 = try FileWriter.read(folder + "/AnimateDiff_00001.mp4")
        #expect(contains(mp4, Array("mdtaprompt".utf8)) && contains(mp4, Array("mdtaworkflow".utf8)))
        let tags = try #require(probe["format"]?["tags"])
        #expect(try JSONValue.parse(try #require(tags["prompt"]?.stringValue)) == prompt)
        #expect(try JSONValue.parse(try #require(tags["workflow"]?.stringValue)) == extra["workflow"])

        // Pixels survive the encode within what crf 19 4:2:0 costs on a synthetic clip.
        let decoded = try ffmpegFrames(folder + "/AnimateDiff_00001.mp4")
        let original = (0..<10).flatMap { clip.imagePixels(batch: $0, channels: 3, rounded: true) }
        #expect(decoded.count == original.count)
        let mae = zip(decoded, original).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(original.count)
        #expect(mae < 4, "mean absolute error \(mae)")

        // The first-frame PNG carries the workflow; the next run counts up.
        let png = try decodeImageFile(try FileWriter.read(folder + "/AnimateDiff_00001.png"))
        #expect(png.textChunks.map(\.key) == ["prompt", "workflow", "CreationTime"])
        let again = try combine(f, clip, format: "video/h264-mp4", prefix: "vid/AnimateDiff")
        #expect(try f.ui(again, "gifs")["filename"] == "AnimateDiff_00002.mp4")
    }

    @Test func oddSizesArePaddedPingpongAndLoopCountFrames() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 5, width: 33, height: 21)
        _ = try combine(f, clip, format: "video/h264-mp4", pingpong: true)
        let probe = try ffprobe(f.env.directories.output + "/AnimateDiff_00001.mp4")
        #expect(probe["streams"]?[0]?["width"] == 34 && probe["streams"]?[0]?["height"] == 22)
        #expect(probe["streams"]?[0]?["nb_read_frames"] == "8") // 0 1 2 3 4 3 2 1
        _ = try combine(f, clip, format: "video/h265-mp4", loop: 2)
        let looped = try ffprobe(f.env.directories.output + "/AnimateDiff_00002.mp4")
        #expect(looped["streams"]?[0]?["codec_name"] == "hevc")
        #expect(looped["streams"]?[0]?["nb_read_frames"] == "15")
    }

    @Test func otherFormats() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 4, width: 32, height: 24)
        let out = f.env.directories.output
        _ = try combine(f, clip, format: "video/webm")
        #expect(try ffprobe(out + "/AnimateDiff_00001.webm")["streams"]?[0]?["codec_name"] == "vp9")
        _ = try combine(f, clip, format: "video/ffv1-mkv")
        // ffv1 takes 16-bit samples and is lossless: exact at 16 bits.
        let sixteen = (0..<4).flatMap { clip.imagePixels16(batch: $0, channels: 3) }
        let decoded16 = try ffmpegFrames(out + "/AnimateDiff_00002.mkv", pixelFormat: "rgb48le")
        #expect(decoded16.count == sixteen.count * 2)
        var mismatches = 0
        for i in 0..<min(sixteen.count, decoded16.count / 2) {
            let value = UInt16(decoded16[2 * i]) | (UInt16(decoded16[2 * i + 1]) << 8)
            if value != sixteen[i] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        _ = try combine(f, clip, format: "image/gif", loop: 0)
        let gif = try ffprobe(out + "/AnimateDiff_00003.gif")
        #expect(gif["streams"]?[0]?["codec_name"] == "gif" && gif["streams"]?[0]?["nb_read_frames"] == "4")
        let webp = try combine(f, clip, format: "image/webp", loop: 3, extraInputs: ["lossless": .bool(true)])
        #expect(try f.ui(webp, "gifs")["format"] == "image/webp")
        let file = try decodeImageFile(try FileWriter.read(out + "/AnimateDiff_00004.webp"))
        #expect(file.frames.count == 4 && file.loopCount == 3)
        #expect(file.frames[2].pixels.count >= 32 * 24 * 3)
        let single = try combine(f, clip.slice(batch: 0..<1).contiguous(), format: "video/8bit-png")
        let entry = try f.ui(single, "gifs")
        #expect(entry["format"] == "image/png" && entry["filename"] == "AnimateDiff_00005.001.png")
        #expect(FileManager.default.fileExists(atPath: out + "/AnimateDiff_00005.001.png"))
        let temp = try combine(f, clip, format: "video/h264-mp4", save: false)
        #expect(try f.ui(temp, "gifs")["type"] == "temp")
        #expect(FileManager.default.fileExists(atPath: f.env.directories.temp + "/AnimateDiff_00001.mp4"))
    }

    @Test func audioIsMuxedIntoASecondFile() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let rate = 22050
        let tone = (0..<rate).map { Float(sin(Double($0) * 2 * .pi * 440 / Double(rate)) * 0.5) }
        let audio = AudioValue(waveform: Tensor(shape: [1, 2, rate], scalars: tone + tone), sampleRate: rate)
        let result = try combine(f, movingSquare(frames: 8, width: 32, height: 24), format: "video/h264-mp4", audio: audio)
        #expect(try f.ui(result, "gifs")["filename"] == "AnimateDiff_00001-audio.mp4")
        let probe = try ffprobe(f.env.directories.output + "/AnimateDiff_00001-audio.mp4")
        let kinds = probe["streams"]?.arrayValue?.compactMap { $0["codec_type"]?.stringValue } ?? []
        #expect(kinds.sorted() == ["audio", "video"])
    }

    @Test func badFormatsAndInputsAreNodeErrors() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 2, width: 16, height: 16)
        #expect(throws: NodeError.self) { try combine(f, clip, format: "video/nonexistent") }
        #expect(throws: NodeError.self) { try combine(f, clip, format: "image/bmp") }
        #expect(throws: NodeError.self) { try combine(f, clip, format: "video/h264-mp4", prefix: "../../etc/x") }
        #expect(throws: NodeError.self) { try combine(f, clip, format: "video/h264-mp4", frameRate: 0) }
        // An encoder argument ffmpeg refuses surfaces ffmpeg's message.
        do {
            _ = try combine(f, clip, format: "video/h264-mp4", extraInputs: ["pix_fmt": "not_a_pix_fmt"])
            Issue.record("expected an error")
        } catch let error as NodeError {
            #expect(error.message.contains("pix") || error.message.contains("ffmpeg"), "\(error.message)")
        }
    }

    @Test func schemaMatchesVideoHelperSuite() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let schema = try #require(f.registry["VHS_VideoCombine"]?.schema)
        #expect(schema.required.map(\.name) == ["images", "frame_rate", "loop_count", "filename_prefix", "format", "pingpong", "save_output"])
        #expect(schema.optional.map(\.name) == ["audio", "meta_batch", "vae"])
        #expect(schema.hidden == [.prompt, .extraPNGInfo, .uniqueID])
        #expect(schema.outputs.map(\.type) == ["VHS_FILENAMES"] && schema.outputs[0].name == "Filenames")
        #expect(VHSFormat.formatChoices.prefix(3) == ["image/gif", "image/webp", "video/16bit-png"])
        #expect(VHSFormat.formatChoices.contains("video/h264-mp4") && VHSFormat.formatChoices.contains("video/webm"))
        let widgets = VHSFormat.formatWidgets
        #expect(widgets["video/h264-mp4"] == [["pix_fmt", ["yuv420p", "yuv420p10le"]],
                                              ["crf", "INT", ["default": 19, "min": 0, "max": 100, "step": 1]],
                                              ["save_metadata", "BOOLEAN", ["default": true]],
                                              ["trim_to_audio", "BOOLEAN", ["default": false]]])
        #expect(widgets["video/8bit-png"] == nil)
        #expect(widgets.map(\.key).last == "image/webp")
        #expect(VHSFormat.mergeFilters(["-vf", "loop=loop=2:size=3", "-n", "-vf", "scale=out_color_matrix=bt709"])
                == ["-vf", "loop=loop=2:size=3,scale=out_color_matrix=bt709", "-n"])
        #expect(VideoCombineNode.nextCounter(in: "/nonexistent", stem: "x") == 1)
    }
}

@Suite(.serialized) struct CoreVideoNodeTests {
    @Test func createSaveLoadAndExtract() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 6, width: 48, height: 32)
        let created = try f.run("CreateVideo", ["images": .tensor(clip), "fps": .float(12)])
        guard case .object(let video) = created.outputs[0] else { Issue.record("no video"); return }
        let prompt: JSONValue = ["1": ["class_type": "CreateVideo"]]
        let saved = try f.run("SaveVideo", ["video": .object(video), "filename_prefix": "video/ComfyUI", "format": "auto",
                                            "codec": "auto"], prompt: prompt, extra: ["workflow": ["nodes": []]])
        #expect(saved.ui?["images"] == [["filename": "ComfyUI_00001_.mp4", "subfolder": "video", "type": "output"]])
        #expect(saved.ui?["animated"] == [true])
        let path = f.env.directories.output + "/video/ComfyUI_00001_.mp4"
        let probe = try ffprobe(path)
        #expect(probe["streams"]?[0]?["codec_name"] == "h264" && probe["streams"]?[0]?["nb_read_frames"] == "6")
        #expect(probe["streams"]?[0]?["avg_frame_rate"] == "12/1")
        #expect(try JSONValue.parse(try #require(probe["format"]?["tags"]?["prompt"]?.stringValue)) == prompt)
        #expect(contains(try FileWriter.read(path), Array("mdtaworkflow".utf8)))

        // LoadVideo lists and loads it from input/; GetVideoComponents decodes frames and fps.
        try FileManager.default.copyItem(atPath: path, toPath: f.env.directories.input + "/clip.mp4")
        #expect(f.env.directories.inputVideos() == ["clip.mp4"])
        let loaded = try f.run("LoadVideo", ["file": "clip.mp4"])
        guard case .object(let file) = loaded.outputs[0] else { Issue.record("no video"); return }
        let parts = try f.run("GetVideoComponents", ["video": .object(file)])
        let frames = f.tensor(parts, 0)
        #expect(frames.shape == [6, 32, 48, 3])
        guard case .float(let fps) = parts.outputs[2] else { Issue.record("no fps"); return }
        #expect(fps == 12)
        let mae = zip(frames.scalars, clip.scalars).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(clip.count)
        #expect(mae < 4.0 / 255, "mean absolute error \(mae * 255)/255")

        // Saving a loaded file copies its stream (same packets) with the new metadata.
        _ = try f.run("SaveVideo", ["video": .object(file), "filename_prefix": "copy", "format": "mp4", "codec": "h264"],
                      prompt: ["2": ["class_type": "SaveVideo"]])
        let copied = try ffprobe(f.env.directories.output + "/copy_00001_.mp4")
        #expect(copied["streams"]?[0]?["nb_read_frames"] == "6")
        #expect(try JSONValue.parse(try #require(copied["format"]?["tags"]?["prompt"]?.stringValue)) == ["2": ["class_type": "SaveVideo"]])
        let sameFrames = try ffmpegFrames(f.env.directories.output + "/copy_00001_.mp4") == (try ffmpegFrames(path))
        #expect(sameFrames)
    }

    @Test func saveWEBMWritesVP9WithMetadata() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 5, width: 33, height: 24)
        let result = try f.run("SaveWEBM", ["images": .tensor(clip), "filename_prefix": "webm/clip", "codec": "vp9",
                                            "fps": .float(10), "crf": .float(30)], prompt: ["1": ["class_type": "SaveWEBM"]])
        #expect(result.ui?["images"] == [["filename": "clip_00001_.webm", "subfolder": "webm", "type": "output"]])
        #expect(result.ui?["animated"] == [true])
        let probe = try ffprobe(f.env.directories.output + "/webm/clip_00001_.webm")
        #expect(probe["streams"]?[0]?["codec_name"] == "vp9" && probe["streams"]?[0]?["nb_read_frames"] == "5")
        #expect(probe["streams"]?[0]?["width"] == 34 && probe["streams"]?[0]?["pix_fmt"] == "yuv420p")
        let prompt = try #require(probe["format"]?["tags"]?["PROMPT"]?.stringValue ?? probe["format"]?["tags"]?["prompt"]?.stringValue)
        #expect(try JSONValue.parse(prompt) == ["1": ["class_type": "SaveWEBM"]])
        #expect(throws: NodeError.self) {
            try f.run("SaveWEBM", ["images": .tensor(clip), "filename_prefix": "x", "codec": "h264", "fps": .float(10), "crf": .float(30)])
        }
    }

    @Test func loadImageReadsEveryFrameOfAGIF() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let clip = movingSquare(frames: 4, width: 40, height: 24)
        _ = try f.run("VHS_VideoCombine", ["images": .tensor(clip), "frame_rate": .float(10), "loop_count": .int(0),
                                           "filename_prefix": "g", "format": "image/gif", "pingpong": .bool(false),
                                           "save_output": .bool(true)])
        try FileManager.default.copyItem(atPath: f.env.directories.output + "/g_00001.gif", toPath: f.env.directories.input + "/g.gif")
        let loaded = try f.run("LoadImage", ["image": "g.gif"])
        let image = f.tensor(loaded, 0), mask = f.tensor(loaded, 1)
        #expect(image.shape == [4, 24, 40, 3])
        #expect(mask.shape == [4, 64, 64])
        // The square (white-yellow) sits at x = 2f … 2f+11, y = 8 … 19 in frame f; the palette keeps it close.
        for frame in 0..<4 {
            let px = image.imagePixels(batch: frame, channels: 3)
            let i = (12 * 40 + frame * 2 + 5) * 3
            #expect(px[i] > 230 && px[i + 1] > 230 && px[i + 2] < 90, "frame \(frame): \(px[i..<(i + 3)])")
        }
    }

    @Test func loadVideoValidatesAndRefusesNonVideos() throws {
        let f = NodeFixture(); defer { f.dir.cleanup() }
        let definition = try #require(f.registry["LoadVideo"])
        #expect(definition.validate?(["file": "missing.mp4"])?.reason == "Invalid video file: missing.mp4")
        #expect(definition.validate?(["file": "../escape.mp4"]) != nil)
        f.dir.write("input/fake.mp4", Array("not a video".utf8))
        #expect(throws: NodeError.self) { try f.run("LoadVideo", ["file": "fake.mp4"]) }
    }
}

fileprivate extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard let items = arrayValue, items.indices.contains(index) else { return nil }
        return items[index]
    }
}

extension NodeValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
