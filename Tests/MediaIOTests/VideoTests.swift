import Foundation
import Testing
@testable import MediaIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary directory for one video test, removed by `cleanup()`.
private struct VideoScratch {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-video-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Test clips: a colour gradient that shifts over time with a square moving across it.
private enum VideoFixtures {
    static let width = 64
    static let height = 48
    static let frameCount = 12
    static let frameRate = 8.0

    /// rgb24 frames.
    static func frames(width: Int = width, height: Int = height, count: Int = frameCount) -> [[UInt8]] {
        (0..<count).map { t in
            var frame = [UInt8](repeating: 0, count: width * height * 3)
            let squareX = 4 + t * 4, squareY = 6 + t * 2
            for y in 0..<height {
                for x in 0..<width {
                    let i = (y * width + x) * 3
                    if x >= squareX && x < squareX + 14 && y >= squareY && y < squareY + 14 {
                        frame[i] = 230; frame[i + 1] = 200; frame[i + 2] = 40
                    } else {
                        frame[i] = UInt8(x * 255 / (width - 1))
                        frame[i + 1] = UInt8(y * 255 / (height - 1))
                        frame[i + 2] = UInt8((64 + t * 12 + x) % 256)
                    }
                }
            }
            return frame
        }
    }

    /// rgb48le frames: a 16-bit gradient using the low byte too.
    static func frames16(count: Int = frameCount) -> [[UInt8]] {
        (0..<count).map { t in
            var frame = [UInt8](repeating: 0, count: width * height * 6)
            for p in 0..<(width * height) {
                for c in 0..<3 {
                    let value = UInt16(truncatingIfNeeded: p &* 977 &+ c &* 20011 &+ t &* 3001)
                    frame[p * 6 + c * 2] = UInt8(value & 0xFF)
                    frame[p * 6 + c * 2 + 1] = UInt8(value >> 8)
                }
            }
            return frame
        }
    }

    /// Mean absolute difference per sample, on the 0-255 scale.
    static func meanAbsoluteError(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count)
        var total = 0
        for i in 0..<a.count { total += abs(Int(a[i]) - Int(b[i])) }
        return Double(total) / Double(a.count)
    }

    /// Expects as many frames as `originals`, each within `bound` mean absolute error of its original and
    /// closer to it than to the neighbouring originals (so a dropped or repeated frame fails too).
    static func expectClose(_ decoded: [[UInt8]], to originals: [[UInt8]], bound: Double,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(decoded.count == originals.count, sourceLocation: sourceLocation)
        for (index, frame) in decoded.enumerated() where index < originals.count {
            let own = meanAbsoluteError(originals[index], frame)
            #expect(own < bound, "frame \(index)", sourceLocation: sourceLocation)
            for neighbour in [index - 1, index + 1] where originals.indices.contains(neighbour) {
                #expect(own < meanAbsoluteError(originals[neighbour], frame), "frame \(index)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    /// Encodes `frames` (rgb24 unless `format` says otherwise) and returns the number written.
    @discardableResult
    static func encode(_ frames: [[UInt8]], to path: String, format: RawPixelFormat = .rgb24,
                       outputArguments: [String], metadata: [(key: String, value: String)] = [],
                       overwrite: Bool = false) throws -> Int {
        let encoder = try VideoEncoder(tools: try FFmpegTools.locate(), outputPath: path, width: width, height: height,
                                       frameRate: frameRate, inputFormat: format, outputArguments: outputArguments,
                                       metadata: metadata, overwrite: overwrite)
        for frame in frames { try encoder.write(frame) }
        return try encoder.finish()
    }

    /// All frames of a file, decoded to `format`.
    static func decode(_ path: String, format: RawPixelFormat = .rgb24,
                       selection: VideoFrameSelection = VideoFrameSelection()) throws -> [[UInt8]] {
        var frames: [[UInt8]] = []
        try decodeVideoFrames(tools: try FFmpegTools.locate(), path: path, pixelFormat: format, selection: selection) {
            frame, index in
            #expect(index == frames.count)
            frames.append(Array(frame))
        }
        return frames
    }

    /// A JSON-like value of about `size` bytes with every character ffmetadata must escape, CR/LF and non-ASCII.
    static func awkwardJSON(size: Int) -> String {
        var text = #"{"note": "a=b; c#d \\ e\n", "ünïcödé": "日本語 ✓ 🎞", "lines": ""#
        var i = 0
        while text.utf8.count < size {
            text += "row \(i) = x; # y \\ z é\n\r\n"
            i += 1
        }
        return text + "\"}"
    }
}

@Suite struct VideoEncodingTests {
    @Test func h264MP4WithLargeMetadata() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mp4")
        let prompt = VideoFixtures.awkwardJSON(size: 300_000)
        let workflow = #"{"nodes": [{"id": 1, "widgets_values": ["x=1;y#2"]}], "title": "ビデオ"}"#
        let originals = VideoFixtures.frames()
        let written = try VideoFixtures.encode(originals, to: path,
                                               outputArguments: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "19"],
                                               metadata: [("prompt", prompt), ("workflow", workflow)])
        #expect(written == 12)

        let info = try probeVideo(tools: try FFmpegTools.locate(), path: path)
        #expect(info.codecName == "h264")
        #expect(info.pixelFormat == "yuv420p")
        #expect(info.width == 64 && info.height == 48 && info.rotation == 0)
        #expect(info.frameRate == 8)
        #expect(info.frameRateFraction == (8, 1))
        #expect(info.frameCount == 12)
        #expect(info.formatName.contains("mp4"))
        #expect(abs((info.duration ?? 0) - 1.5) < 0.01)
        #expect(info.audio == nil)
        #expect(info.tags["prompt"] == prompt)
        #expect(info.tags["workflow"] == workflow)

        // Measured 2.15-2.47 per sample. The RGB → 4:2:0 → RGB conversion alone costs 1.9 here (x264 at -qp 0,
        // lossless, measures that: the fixture's colour changes every pixel); CRF 19 adds about 0.4. Decoding the
        // neighbouring frame instead measures 9-13, swapped channels far more.
        VideoFixtures.expectClose(try VideoFixtures.decode(path), to: originals, bound: 3)
    }

    @Test func h265MP4() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mp4")
        let originals = VideoFixtures.frames()
        try VideoFixtures.encode(originals, to: path, outputArguments: [
            "-c:v", "libx265", "-vtag", "hvc1", "-x265-params", "log-level=quiet", "-pix_fmt", "yuv420p", "-crf", "22",
        ])
        let info = try probeVideo(tools: try FFmpegTools.locate(), path: path)
        #expect(info.codecName == "hevc")
        #expect(info.pixelFormat == "yuv420p")
        #expect(info.width == 64 && info.height == 48)
        #expect(info.frameRate == 8)
        #expect(info.frameCount == 12)
        // Measured 2.27-2.47 (1.9 of it from 4:2:0 conversion, as for H.264).
        VideoFixtures.expectClose(try VideoFixtures.decode(path), to: originals, bound: 3.5)
    }

    @Test func vp9WebMCountsFramesOnRequest() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.webm")
        let originals = VideoFixtures.frames()
        try VideoFixtures.encode(originals, to: path,
                                 outputArguments: ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-crf", "20"],
                                 metadata: [("prompt", #"{"a": "b=c"}"#)])
        let tools = try FFmpegTools.locate()
        let info = try probeVideo(tools: tools, path: path)
        #expect(info.codecName == "vp9")
        #expect(info.pixelFormat == "yuv420p")
        #expect(info.formatName.contains("webm"))
        #expect(info.frameRate == 8)
        #expect(info.frameCount == nil)  // Matroska stores no frame count
        // Matroska upper-cases tag names; the lookup helper finds them anyway.
        #expect(info.tag("prompt") == #"{"a": "b=c"}"#)
        #expect(try probeVideo(tools: tools, path: path, countFrames: true).frameCount == 12)
        // Measured 2.00-2.42 (1.9 of it from 4:2:0 conversion, as for H.264).
        VideoFixtures.expectClose(try VideoFixtures.decode(path), to: originals, bound: 3.5)
    }

    @Test func ffv1MatroskaIsLossless() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mkv")
        let originals = VideoFixtures.frames()
        try VideoFixtures.encode(originals, to: path, outputArguments: ["-c:v", "ffv1"])
        let info = try probeVideo(tools: try FFmpegTools.locate(), path: path)
        #expect(info.codecName == "ffv1")
        let decoded = try VideoFixtures.decode(path)
        #expect(decoded == originals)
        // Frame selection: skip 2, every 3rd, at most 3 → frames 2, 5, 8.
        let picked = try VideoFixtures.decode(path, selection: VideoFrameSelection(skipFirst: 2, everyNth: 3, limit: 3))
        #expect(picked == [originals[2], originals[5], originals[8]])
        #expect(VideoFrameSelection(skipFirst: 2, everyNth: 3, limit: 3).deliveredCount(of: 12) == 3)
        #expect(VideoFrameSelection(skipFirst: 2, everyNth: 3).deliveredCount(of: 12) == 4)
    }

    @Test func sixteenBitFramesSurviveFFV1() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("deep.mkv")
        let originals = VideoFixtures.frames16(count: 3)
        try VideoFixtures.encode(originals, to: path, format: .rgb48le,
                                 outputArguments: ["-c:v", "ffv1", "-pix_fmt", "gbrp16le"])
        let decoded = try VideoFixtures.decode(path, format: .rgb48le)
        #expect(decoded == originals)
    }

    @Test func rgbaFramesKeepAlphaInQuickTimePNG() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("alpha.mov")
        let rgb = VideoFixtures.frames(count: 2)
        let originals = rgb.map { frame -> [UInt8] in
            var out: [UInt8] = []
            for p in 0..<(frame.count / 3) { out += frame[(p * 3)..<(p * 3 + 3)] + [UInt8(p % 251)] }
            return out
        }
        try VideoFixtures.encode(originals, to: path, format: .rgba, outputArguments: ["-c:v", "png"])
        #expect(try probeVideo(tools: try FFmpegTools.locate(), path: path).pixelFormat == "rgba")
        #expect(try VideoFixtures.decode(path, format: .rgba) == originals)
    }

    @Test func gifWithPalette() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.gif")
        // Posterised to 6 levels per channel: at most 216 colours, which fit one GIF palette, so every pixel
        // must come back exactly (the smooth fixture would only test dithering quality).
        let originals = VideoFixtures.frames().map { $0.map { UInt8((Int($0) * 5 + 127) / 255 * 51) } }
        try VideoFixtures.encode(originals, to: path, outputArguments: [
            "-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse", "-loop", "0",
        ])
        let info = try probeVideo(tools: try FFmpegTools.locate(), path: path, countFrames: true)
        #expect(info.codecName == "gif")
        #expect(info.width == 64 && info.height == 48)
        #expect(info.frameCount == 12)
        #expect(try VideoFixtures.decode(path) == originals)
    }

    @Test func ntscRatesAreExactFractions() {
        #expect(ffmpegRate(23.976) == "24000/1001")
        #expect(ffmpegRate(30000.0 / 1001) == "30000/1001")
        #expect(ffmpegRate(8) == "8")
        #expect(ffmpegRate(12.5) == "12.5")
    }

    @Test func ffmetadataEscaping() throws {
        let text = try ffmetadata([("a=b", "x;y#z\\w\nv\r"), ("[STREAM]", "é")])
        #expect(String(decoding: text, as: UTF8.self) == ";FFMETADATA1\na\\=b=x\\;y\\#z\\\\w\\\nv\\\r\n\\[STREAM]=é\n")
        #expect(throws: MediaError.self) { try ffmetadata([("prompt", "ends with \\")]) }
        #expect(throws: MediaError.self) { try ffmetadata([("", "x")]) }
        #expect(throws: MediaError.self) { try ffmetadata([("k", "nul\u{0}")]) }
    }

    @Test func movFlagsAreMerged() {
        #expect(addingMovFlag("use_metadata_tags", to: ["-c:v", "libx264"]) == ["-c:v", "libx264", "-movflags", "+use_metadata_tags"])
        #expect(addingMovFlag("use_metadata_tags", to: ["-movflags", "+faststart"]) == ["-movflags", "+faststart+use_metadata_tags"])
        #expect(isQuickTimeOutput(path: "a.MP4", arguments: []))
        #expect(!isQuickTimeOutput(path: "a.mp4", arguments: ["-f", "matroska"]))
        #expect(!isQuickTimeOutput(path: "a.webm", arguments: []))
    }
}

@Suite struct VideoAudioTests {
    /// A stereo 440 Hz sine (right channel at half amplitude).
    static func sine(seconds: Double, rate: Int = 44100) -> AudioClip {
        let frames = Int(seconds * Double(rate))
        var samples = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames {
            let v = Float(sin(2 * Double.pi * 440 * Double(i) / Double(rate)) * 0.5)
            samples[2 * i] = v
            samples[2 * i + 1] = v / 2
        }
        return AudioClip(samples: samples, channels: 2, sampleRate: rate)
    }

    /// Sign changes of one channel between two sample frames.
    static func zeroCrossings(_ clip: AudioClip, channel: Int, from start: Int, to end: Int) -> Int {
        var count = 0
        for i in (start + 1)..<end {
            let a = clip.samples[(i - 1) * clip.channels + channel], b = clip.samples[i * clip.channels + channel]
            if (a < 0) != (b < 0) { count += 1 }
        }
        return count
    }

    @Test func aacMuxPadsToTheVideoAndKeepsMetadata() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let tools = try FFmpegTools.locate()
        let silent = dir.file("silent.mp4"), path = dir.file("clip.mp4")
        try VideoFixtures.encode(VideoFixtures.frames(), to: silent,
                                 outputArguments: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "19"],
                                 metadata: [("prompt", #"{"seed": 5}"#)])
        #expect(try decodeAudio(tools: tools, path: silent) == nil)

        try muxAudio(tools: tools, videoPath: silent, audio: Self.sine(seconds: 1), audioArguments: ["-c:a", "aac"],
                     outputPath: path, padToSeconds: 1.5, trimToAudio: true)
        let info = try probeVideo(tools: tools, path: path)
        let audio = try #require(info.audio)
        #expect(audio.codecName == "aac" && audio.sampleRate == 44100 && audio.channels == 2)
        #expect(info.codecName == "h264" && info.frameCount == 12)
        #expect(info.tags["prompt"] == #"{"seed": 5}"#)

        let clip = try #require(try decodeAudio(tools: tools, path: path))
        #expect(clip.channels == 2 && clip.sampleRate == 44100)
        // Padded to the video's 1.5 s (AAC frames of 1024 samples may add a few ms).
        #expect(abs(clip.duration - 1.5) < 0.05)
        // 440 Hz: 2 × 440 × 0.8 crossings between 0.1 s and 0.9 s; silence after the sine ends.
        let crossings = Self.zeroCrossings(clip, channel: 0, from: 4410, to: 39690)
        #expect(abs(crossings - 704) <= 6)
        var peakLeft: Float = 0, peakRight: Float = 0, tail: Float = 0
        for i in 4410..<39690 {
            peakLeft = max(peakLeft, abs(clip.samples[2 * i]))
            peakRight = max(peakRight, abs(clip.samples[2 * i + 1]))
        }
        for i in 50_000..<(clip.frameCount - 100) { tail = max(tail, abs(clip.samples[2 * i])) }
        #expect(abs(peakLeft - 0.5) < 0.05 && abs(peakRight - 0.25) < 0.05)
        #expect(tail < 0.01)
    }

    @Test func unpaddedAudioKeepsItsLength() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let tools = try FFmpegTools.locate()
        let silent = dir.file("silent.mkv"), path = dir.file("clip.mkv")
        try VideoFixtures.encode(VideoFixtures.frames(), to: silent, outputArguments: ["-c:v", "ffv1"])
        try muxAudio(tools: tools, videoPath: silent, audio: Self.sine(seconds: 1, rate: 48000),
                     audioArguments: ["-c:a", "libopus"], outputPath: path)
        let clip = try #require(try decodeAudio(tools: tools, path: path))
        #expect(clip.channels == 2 && clip.sampleRate == 48000)
        #expect(abs(clip.duration - 1.0) < 0.03)
        // The video stream is copied untouched.
        #expect(try VideoFixtures.decode(path) == VideoFixtures.frames())
    }

    @Test func invalidAudioIsRefused() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let tools = try FFmpegTools.locate()
        let silent = dir.file("silent.mkv")
        try VideoFixtures.encode(VideoFixtures.frames(count: 2), to: silent, outputArguments: ["-c:v", "ffv1"])
        #expect(throws: MediaError.self) {
            try muxAudio(tools: tools, videoPath: silent, audio: AudioClip(samples: [0, 0, 0], channels: 2, sampleRate: 44100),
                         outputPath: dir.file("out.mkv"))
        }
        #expect(throws: MediaError.self) {
            try muxAudio(tools: tools, videoPath: silent, audio: Self.sine(seconds: 0.1), outputPath: silent, overwrite: true)
        }
        // An audio codec ffmpeg does not have: its message comes back, and nothing is left behind.
        let error = #expect(throws: MediaError.self) {
            try muxAudio(tools: tools, videoPath: silent, audio: Self.sine(seconds: 0.1),
                         audioArguments: ["-c:a", "nonexistent_audio_codec"], outputPath: dir.file("out.mkv"))
        }
        #expect(error?.code == .toolFailed)
        #expect(error?.message.contains("nonexistent_audio_codec") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.mkv")))
    }
}

@Suite struct VideoErrorTests {
    static let h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "19"]

    func encoder(_ path: String, arguments: [String] = h264, overwrite: Bool = false) throws -> VideoEncoder {
        try VideoEncoder(tools: try FFmpegTools.locate(), outputPath: path, width: VideoFixtures.width,
                         height: VideoFixtures.height, frameRate: 8, inputFormat: .rgb24, outputArguments: arguments,
                         overwrite: overwrite)
    }

    @Test func wrongFrameSizeThrows() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mp4")
        let encoder = try encoder(path)
        let error = #expect(throws: MediaError.self) { try encoder.write([UInt8](repeating: 0, count: 64 * 48 * 3 - 1)) }
        #expect(error?.code == .invalidArgument)
        // The encoder still accepts correct frames afterwards.
        try encoder.write(VideoFixtures.frames(count: 1)[0])
        #expect(try encoder.finish() == 1)
        #expect(try probeVideo(tools: try FFmpegTools.locate(), path: path).frameCount == 1)
        #expect(throws: MediaError.self) { try encoder.write(VideoFixtures.frames(count: 1)[0]) }
    }

    @Test func unknownEncoderReportsFFmpegsMessage() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mp4")
        let encoder = try encoder(path, arguments: ["-c:v", "nonexistent_codec"])
        let error = #expect(throws: MediaError.self) {
            for frame in VideoFixtures.frames() { try encoder.write(frame) }
            try encoder.finish()
        }
        #expect(error?.code == .toolFailed)
        #expect(error?.message.contains("nonexistent_codec") == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func ffmpegKilledMidStreamThrows() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mp4")
        let encoder = try encoder(path)
        let frames = VideoFixtures.frames()
        try encoder.write(frames[0])
        try encoder.write(frames[1])
        let pid = try #require(encoder.processIdentifier)
        #expect(kill(pid, SIGKILL) == 0)
        let error = #expect(throws: MediaError.self) {
            // Enough data to fill the pipe, so a write must see the closed pipe if finish() is not reached first.
            for i in 0..<200 { try encoder.write(frames[i % frames.count]) }
            try encoder.finish()
        }
        #expect(error?.code == .toolFailed)
        #expect(error?.message.contains("signal 9") == true)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func existingOutputNeedsOverwrite() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mp4")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        let error = #expect(throws: MediaError.self) { _ = try encoder(path) }
        #expect(error?.message.contains("already exists") == true)
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
        try VideoFixtures.encode(VideoFixtures.frames(count: 2), to: path, outputArguments: Self.h264, overwrite: true)
        #expect(try probeVideo(tools: try FFmpegTools.locate(), path: path).frameCount == 2)
    }

    @Test func cancelAndReleaseRemoveThePartialOutput() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let frame = VideoFixtures.frames(count: 1)[0]
        let cancelled = dir.file("cancelled.mkv")
        let encoder = try encoder(cancelled, arguments: ["-c:v", "ffv1"])
        for _ in 0..<20 { try encoder.write(frame) }
        encoder.cancel()
        #expect(!FileManager.default.fileExists(atPath: cancelled))
        #expect(throws: MediaError.self) { try encoder.finish() }

        let released = dir.file("released.mkv")
        do {
            let encoder = try self.encoder(released, arguments: ["-c:v", "ffv1"])
            for _ in 0..<20 { try encoder.write(frame) }
        }
        #expect(!FileManager.default.fileExists(atPath: released))

        // Finishing without frames is an error, not an empty file.
        let empty = dir.file("empty.mkv")
        #expect(throws: MediaError.self) { try self.encoder(empty, arguments: ["-c:v", "ffv1"]).finish() }
        #expect(!FileManager.default.fileExists(atPath: empty))
        // No metadata temp files are left behind by cancelled encoders either.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
        let mine = dir.file("meta.mkv")
        let withMetadata = try VideoEncoder(tools: try FFmpegTools.locate(), outputPath: mine, width: 64, height: 48,
                                            frameRate: 8, inputFormat: .rgb24, outputArguments: ["-c:v", "ffv1"],
                                            metadata: [("prompt", "{}")])
        withMetadata.cancel()
        let after = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
        #expect(Set(after.filter { $0.hasPrefix("loom-ffmetadata-") })
                    .isSubset(of: Set(leftovers.filter { $0.hasPrefix("loom-ffmetadata-") })))
    }

    @Test func invalidEncoderArgumentsThrow() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let tools = try FFmpegTools.locate()
        #expect(throws: MediaError.self) {
            _ = try VideoEncoder(tools: tools, outputPath: dir.file("a.mp4"), width: 0, height: 48, frameRate: 8,
                                 inputFormat: .rgb24, outputArguments: [])
        }
        #expect(throws: MediaError.self) {
            _ = try VideoEncoder(tools: tools, outputPath: dir.file("a.mp4"), width: 64, height: 48, frameRate: .nan,
                                 inputFormat: .rgb24, outputArguments: [])
        }
        #expect(throws: MediaError.self) {
            _ = try VideoEncoder(tools: tools, outputPath: dir.file("a.mp4"), width: 64, height: 48, frameRate: 8,
                                 inputFormat: .rgb24, outputArguments: [], metadata: [("k", "trailing\\")])
        }
    }

    @Test func probeRejectsNonVideo() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let tools = try FFmpegTools.locate()
        let text = dir.file("notes.txt")
        #expect(FileManager.default.createFile(atPath: text, contents: Data("just some text, not a video\n".utf8)))
        let error = #expect(throws: MediaError.self) { try probeVideo(tools: tools, path: text) }
        #expect(error?.code == .invalidData)
        #expect(throws: MediaError.self) { try probeVideo(tools: tools, path: dir.file("missing.mp4")) }
        #expect(throws: MediaError.self) { try decodeAudio(tools: tools, path: text) }
        #expect(throws: MediaError.self) { try VideoFixtures.decode(text) }

        // An audio-only file has no video stream.
        let wav = dir.file("tone.mkv")
        try muxAudioOnly(tools: tools, to: wav)
        let noVideo = #expect(throws: MediaError.self) { try probeVideo(tools: tools, path: wav) }
        #expect(noVideo?.message.contains("no video stream") == true)
        #expect(try decodeAudio(tools: tools, path: wav)?.channels == 1)
    }

    /// Writes a short mono file with no video, through ffmpeg's own tone generator.
    private func muxAudioOnly(tools: FFmpegTools, to path: String) throws {
        let tool = try ToolProcess(executable: tools.ffmpeg, arguments: [
            "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.2", "-c:a", "pcm_s16le", path,
        ], feedStdin: false, readStdout: false)
        try tool.waitForSuccess("writing a test tone")
    }

    @Test func pixelLimitIsEnforced() throws {
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let tools = try FFmpegTools.locate()
        let mp4 = dir.file("clip.mp4"), mkv = dir.file("clip.mkv")
        let frames = VideoFixtures.frames()
        try VideoFixtures.encode(frames, to: mp4, outputArguments: Self.h264)
        try VideoFixtures.encode(frames, to: mkv, outputArguments: ["-c:v", "ffv1"])
        let limit = 64 * 48 * 11

        // MP4 stores the frame count: refused before any frame is delivered.
        var delivered = 0
        let early = #expect(throws: MediaError.self) {
            try decodeVideoFrames(tools: tools, path: mp4, maxPixels: limit) { _, _ in delivered += 1 }
        }
        #expect(early?.code == .tooLarge)
        #expect(delivered == 0)
        // Within the limit when only every other frame is taken.
        let half = try decodeVideoFrames(tools: tools, path: mp4, maxPixels: limit,
                                         selection: VideoFrameSelection(everyNth: 2)) { _, _ in }
        #expect(half.frames == 6)

        // Matroska does not: decoding stops once the limit is passed.
        delivered = 0
        let late = #expect(throws: MediaError.self) {
            try decodeVideoFrames(tools: tools, path: mkv, maxPixels: limit) { _, _ in delivered += 1 }
        }
        #expect(late?.code == .tooLarge)
        #expect(delivered == 11)
    }

    @Test func closureErrorsStopDecoding() throws {
        struct Stop: Error {}
        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let path = dir.file("clip.mkv")
        try VideoFixtures.encode(VideoFixtures.frames(), to: path, outputArguments: ["-c:v", "ffv1"])
        var calls = 0
        #expect(throws: Stop.self) {
            try decodeVideoFrames(tools: try FFmpegTools.locate(), path: path) { _, index in
                calls += 1
                if index == 3 { throw Stop() }
            }
        }
        #expect(calls == 4)

        // The pull decoder reports the display size and stops at the end.
        let decoder = try VideoDecoder(tools: try FFmpegTools.locate(), path: path)
        #expect(decoder.frameWidth == 64 && decoder.frameHeight == 48 && decoder.frameByteCount == 64 * 48 * 3)
        var count = 0
        while try decoder.readFrame() != nil { count += 1 }
        #expect(count == 12 && decoder.framesRead == 12)
        #expect(try decoder.readFrame() == nil)
    }

    @Test func missingToolsThrow() throws {
        let explicit = #expect(throws: MediaError.self) {
            try FFmpegTools.locate(environment: ["LOOM_FFMPEG": "/nonexistent", "PATH": "/usr/bin:/bin"])
        }
        #expect(explicit?.code == .toolMissing)
        #expect(explicit?.message.contains("LOOM_FFMPEG") == true)
        let onPath = #expect(throws: MediaError.self) { try FFmpegTools.locate(environment: ["PATH": "/nonexistent-dir"]) }
        #expect(onPath?.message.contains("apt-get install ffmpeg") == true)
        // A directory is not an executable.
        #expect(throws: MediaError.self) { try FFmpegTools.locate(environment: ["LOOM_FFMPEG": "/usr/bin"]) }

        let found = try FFmpegTools.locate()
        #expect(found.ffmpeg.hasSuffix("ffmpeg") && found.ffprobe.hasSuffix("ffprobe"))
        let overridden = try FFmpegTools.locate(environment: ["LOOM_FFMPEG": found.ffmpeg, "PATH": "/nonexistent-dir"])
        #expect(overridden.ffprobe == found.ffprobe)  // found next to the explicit ffmpeg

        let dir = try VideoScratch()
        defer { dir.cleanup() }
        let broken = FFmpegTools(ffmpeg: "/nonexistent/ffmpeg", ffprobe: "/nonexistent/ffprobe")
        let start = #expect(throws: MediaError.self) {
            _ = try VideoEncoder(tools: broken, outputPath: dir.file("a.mp4"), width: 64, height: 48, frameRate: 8,
                                 inputFormat: .rgb24, outputArguments: [])
        }
        #expect(start?.code == .toolMissing)
        let path = dir.file("clip.mkv")
        try VideoFixtures.encode(VideoFixtures.frames(count: 1), to: path, outputArguments: ["-c:v", "ffv1"])
        #expect(throws: MediaError.self) { try probeVideo(tools: broken, path: path) }
    }
}
