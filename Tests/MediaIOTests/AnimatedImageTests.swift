import Foundation
import Testing
@testable import MediaIO

/// Runs command-line tools (webpmux, webpinfo, ffprobe, ffmpeg) for cross-checks.
enum ExternalTool {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `arguments` (looked up on PATH), returning stdout; throws with a clear message when the
    /// tool is missing or exits non-zero.
    static func run(_ arguments: [String], package: String) throws -> Data {
        let dir = TempDir()
        defer { dir.cleanup() }
        let outURL = URL(fileURLWithPath: dir.path + "/stdout"), errURL = URL(fileURLWithPath: dir.path + "/stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        if process.terminationStatus == 127 {
            throw Failure(description: "'\(arguments[0])' is not installed: install the Debian package '\(package)'")
        }
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(stderr)")
        }
        return try Data(contentsOf: outURL)
    }

    static func text(_ arguments: [String], package: String) throws -> String {
        String(decoding: try run(arguments, package: package), as: UTF8.self)
    }
}

/// Distinct test frames: a moving pattern with every channel varying.
func animationFrames(count: Int, width: Int, height: Int, channels: Int, minimumAlpha: UInt8 = 1) -> [[UInt8]] {
    (0..<count).map { f in
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8((x * 17 + f * 40) & 0xFF), UInt8((y * 23 + f * 9) & 0xFF), UInt8((x * y + f * 71) & 0xFF)]
                if channels == 4 {
                    let a = (x * 31 + y * 7 + f * 13) & 0xFF
                    pixels.append(max(minimumAlpha, UInt8(a)))
                }
            }
        }
        return pixels
    }
}

/// Whether two byte arrays are equal, reporting only the first difference (swift-testing's
/// element-wise diff of large arrays is very slow).
func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else {
        Issue.record("sizes differ: \(a.count) vs \(b.count)")
        return false
    }
    if let i = a.indices.first(where: { a[$0] != b[$0] }) {
        Issue.record("first difference at byte \(i): \(a[i]) vs \(b[i])")
        return false
    }
    return true
}

/// RGB → RGBA with opaque alpha (RGBA unchanged).
func rgba(_ pixels: [UInt8], channels: Int) -> [UInt8] {
    guard channels == 3 else { return pixels }
    var out: [UInt8] = []
    out.reserveCapacity(pixels.count / 3 * 4)
    for p in stride(from: 0, to: pixels.count, by: 3) { out += [pixels[p], pixels[p + 1], pixels[p + 2], 255] }
    return out
}

@Suite struct AnimatedWEBPTests {
    @Test(arguments: [3, 4])
    func losslessRoundTripIsExact(channels: Int) throws {
        let w = 16, h = 12
        let frames = animationFrames(count: 4, width: w, height: h, channels: channels)
        let writer = try AnimatedWEBPWriter(width: w, height: h, loopCount: 3, lossless: true)
        let durations = [40, 0, 120, 250]
        for (frame, duration) in zip(frames, durations) {
            try writer.add(frame, channels: channels, durationMilliseconds: duration)
        }
        #expect(writer.frameCount == 4)
        let file = try decodeImageFile(try writer.finish())
        #expect(file.codec == .webp)
        #expect(file.loopCount == 3)
        try #require(file.frames.count == 4)
        for (i, frame) in file.frames.enumerated() {
            #expect(frame.width == w && frame.height == h && frame.channels == 4)
            #expect(sameBytes(frame.pixels, rgba(frames[i], channels: channels)), "frame \(i)")
            // Frames shorter than 1 ms are stored as 1 ms.
            #expect(frame.durationMilliseconds == max(1, durations[i]))
        }
        #expect(file.frames[0].alpha == (channels == 4 ? .channel : .none))
    }

    @Test func bufferPointerOverloadMatchesArrays() throws {
        let frames = animationFrames(count: 2, width: 5, height: 4, channels: 4)
        let writer = try AnimatedWEBPWriter(width: 5, height: 4, lossless: true)
        for frame in frames {
            try frame.withUnsafeBufferPointer { try writer.add($0, channels: 4, durationMilliseconds: 30) }
        }
        let decoded = try decodeImage(try writer.finish())
        #expect(sameBytes(decoded.flatMap(\.pixels), frames.flatMap { $0 }))
    }

    @Test func lossyFramesStayClose() throws {
        let w = 32, h = 32
        let frames: [[UInt8]] = (0..<3).map { f in
            (0..<(w * h)).flatMap { p -> [UInt8] in
                let x = p % w, y = p / w
                return [UInt8(x * 8), UInt8(y * 8), UInt8(min(255, 60 + f * 50)), 255]
            }
        }
        let webp = try encodeAnimatedWEBP(frames: frames, width: w, height: h, durationsMilliseconds: [100, 100, 100],
                                          quality: 90)
        let decoded = try decodeImage(webp)
        try #require(decoded.count == 3)
        for (i, frame) in decoded.enumerated() {
            let diffs = zip(frame.pixels, frames[i]).map { abs(Int($0) - Int($1)) }
            let mean = Double(diffs.reduce(0, +)) / Double(diffs.count)
            #expect(mean < 4, "frame \(i) mean error \(mean)")
            #expect((diffs.max() ?? 255) < 48, "frame \(i)")
        }
    }

    @Test func webpmuxReportsFramesLoopAndDurations() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let writer = try AnimatedWEBPWriter(width: 8, height: 6, loopCount: 5, quality: 75)
        for (frame, duration) in zip(animationFrames(count: 3, width: 8, height: 6, channels: 3), [70, 140, 210]) {
            try writer.add(frame, channels: 3, durationMilliseconds: duration)
        }
        dir.write("anim.webp", try writer.finish())
        let info = try ExternalTool.text(["webpmux", "-info", dir.path + "/anim.webp"], package: "webp")
        #expect(info.contains("Number of frames: 3"), "\(info)")
        #expect(info.contains("Loop Count : 5"), "\(info)")
        #expect(info.contains("Canvas size: 8 x 6"), "\(info)")
        let durations = info.split(separator: "\n").compactMap { line -> Int? in
            let fields = line.split(separator: " ")
            guard fields.count >= 7, fields[0].hasSuffix(":"), Int(fields[0].dropLast()) != nil else { return nil }
            return Int(fields[6])
        }
        #expect(durations == [70, 140, 210], "\(info)")
    }

    @Test func exifChunkIsStoredAndReadable() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let prompt = #"{"1": {"class_type": "SaveAnimatedWEBP", "inputs": {"fps": 6.0}}}"#
        let workflow = #"{"nodes": [], "extra": {"note": "héllo"}}"#
        let exif = ExifASCII.tiff([(tag: 0x0110, value: "prompt:" + prompt), (tag: 0x010F, value: "workflow:" + workflow)])
        let writer = try AnimatedWEBPWriter(width: 6, height: 4, lossless: true)
        let frames = animationFrames(count: 2, width: 6, height: 4, channels: 4)
        for frame in frames { try writer.add(frame, channels: 4, durationMilliseconds: 50) }
        let webp = try writer.finish(exif: exif)
        // VP8X flags: EXIF (0x08) and animation (0x02).
        try #require(webp.count > 21 && Array(webp[12..<16]) == Array("VP8X".utf8))
        #expect(webp[20] & 0x08 != 0 && webp[20] & 0x02 != 0)
        let stored = try #require(webpEXIF(webp))
        #expect(stored == exif)
        let entries = ExifASCII.entries(stored)
        #expect(entries.map(\.tag) == [0x010F, 0x0110])
        #expect(entries.map(\.value) == ["workflow:" + workflow, "prompt:" + prompt])
        // Still decodable, and libwebp's own tools accept it.
        #expect(sameBytes(try decodeImage(webp).flatMap(\.pixels), frames.flatMap { $0 }))
        dir.write("meta.webp", webp)
        _ = try ExternalTool.run(["webpinfo", "-quiet", dir.path + "/meta.webp"], package: "webp")
        let info = try ExternalTool.text(["webpmux", "-info", dir.path + "/meta.webp"], package: "webp")
        #expect(info.contains("Size of the EXIF metadata: \(exif.count)"), "\(info)")
        #expect(info.contains("Number of frames: 2"), "\(info)")
    }

    @Test func fileWithoutExifHasNone() throws {
        let webp = try encodeAnimatedWEBP(frames: animationFrames(count: 2, width: 3, height: 3, channels: 4),
                                          width: 3, height: 3, durationsMilliseconds: [10, 10])
        #expect(webpEXIF(webp) == nil)
        #expect(webpEXIF(Array(webp.prefix(11))) == nil)
        #expect(webpEXIF(Array("not a webp file".utf8)) == nil)
    }

    @Test func misuseThrows() throws {
        let writer = try AnimatedWEBPWriter(width: 4, height: 4)
        #expect(throws: MediaError.self) { try writer.add([UInt8](repeating: 0, count: 15), channels: 4, durationMilliseconds: 10) }
        #expect(throws: MediaError.self) { try writer.add([UInt8](repeating: 0, count: 32), channels: 2, durationMilliseconds: 10) }
        #expect(throws: MediaError.self) { try writer.finish() } // no frames
        try writer.add([UInt8](repeating: 9, count: 48), channels: 3, durationMilliseconds: 10)
        _ = try writer.finish()
        #expect(throws: MediaError.self) { try writer.add([UInt8](repeating: 9, count: 48), channels: 3, durationMilliseconds: 10) }
        #expect(throws: MediaError.self) { try writer.finish() }
        #expect(throws: MediaError.self) { try AnimatedWEBPWriter(width: 0, height: 4) }
        #expect(throws: MediaError.self) { try AnimatedWEBPWriter(width: 20000, height: 4) }
    }

    @Test func exifLayout() throws {
        let tiff = ExifASCII.tiff([(tag: 0x0110, value: "prompt:{}"), (tag: 0x010F, value: "ab"),
                                   (tag: 0x010E, value: "odd")])
        // Header, IFD0 at 8, three entries sorted by tag.
        #expect(Array(tiff[0..<8]) == [0x49, 0x49, 0x2A, 0, 8, 0, 0, 0])
        #expect(Array(tiff[8..<10]) == [3, 0])
        let dataStart = 8 + 2 + 3 * 12 + 4
        // 0x010E "odd": 4 bytes with NUL, stored inline.
        #expect(Array(tiff[10..<22]) == [0x0E, 0x01, 2, 0, 4, 0, 0, 0] + Array("odd".utf8) + [0])
        // 0x010F "ab": 3 bytes, inline and zero-padded.
        #expect(Array(tiff[22..<34]) == [0x0F, 0x01, 2, 0, 3, 0, 0, 0, 0x61, 0x62, 0, 0])
        // 0x0110: 10 bytes stored after the IFD.
        #expect(Array(tiff[34..<46]) == [0x10, 0x01, 2, 0, 10, 0, 0, 0, UInt8(dataStart), 0, 0, 0])
        #expect(Array(tiff[46..<50]) == [0, 0, 0, 0]) // next IFD
        #expect(Array(tiff[dataStart...]) == Array("prompt:{}".utf8) + [0])
        // Odd-length values are padded so the next value starts at an even offset.
        let two = ExifASCII.tiff([(tag: 0x010F, value: "abcde"), (tag: 0x0110, value: "vwxyz12")])
        let second = Int(two[8 + 2 + 12 + 8]) | Int(two[8 + 2 + 12 + 9]) << 8
        #expect(second % 2 == 0 && second == 8 + 2 + 24 + 4 + 6)
        #expect(ExifASCII.entries(two).map(\.value) == ["abcde", "vwxyz12"])
        #expect(ExifASCII.entries(tiff).map(\.tag) == [0x010E, 0x010F, 0x0110])
        // A repeated tag keeps the last value.
        #expect(ExifASCII.entries(ExifASCII.tiff([(tag: 1, value: "a"), (tag: 1, value: "b")])).map(\.value) == ["b"])
    }

    @Test func exifReaderAcceptsPrefixAndBigEndian() {
        // Big-endian TIFF with one inline ASCII entry and one offset entry, behind "Exif\0\0".
        var be: [UInt8] = [0x4D, 0x4D, 0, 0x2A, 0, 0, 0, 8, 0, 3]
        be += [0x01, 0x0F, 0, 2, 0, 0, 0, 3] + Array("hi".utf8) + [0, 0]
        be += [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0] // SHORT entry: skipped
        be += [0x01, 0x10, 0, 2, 0, 0, 0, 6, 0, 0, 0, 50] + [0, 0, 0, 0]
        be += Array("model".utf8) + [0]
        let entries = ExifASCII.entries(Array("Exif".utf8) + [0, 0] + be)
        #expect(entries.map(\.tag) == [0x010F, 0x0110])
        #expect(entries.map(\.value) == ["hi", "model"])
        #expect(ExifASCII.entries(Array(be.prefix(20))).isEmpty)
        #expect(ExifASCII.entries([1, 2, 3]).isEmpty)
        // A value pointing outside the data is skipped, not a crash.
        var broken = be
        broken[be.count - 6 - 4 - 1] = 200
        #expect(ExifASCII.entries(broken).map(\.value) == ["hi"])
    }
}

/// Builds APNG files chunk by chunk for decoder tests.
enum APNGBuilder {
    static func acTL(frames: UInt32, plays: UInt32 = 0) -> [UInt8] {
        PNGBuilder.chunk("acTL", PNGBuilder.be32(frames) + PNGBuilder.be32(plays))
    }

    static func fcTL(_ sequence: UInt32, width: Int, height: Int, x: Int = 0, y: Int = 0, delay: (UInt16, UInt16) = (1, 10),
                     dispose: UInt8 = 0, blend: UInt8 = 0) -> [UInt8] {
        var data = PNGBuilder.be32(sequence) + PNGBuilder.be32(UInt32(width)) + PNGBuilder.be32(UInt32(height))
        data += PNGBuilder.be32(UInt32(x)) + PNGBuilder.be32(UInt32(y))
        data += [UInt8(delay.0 >> 8), UInt8(delay.0 & 0xFF), UInt8(delay.1 >> 8), UInt8(delay.1 & 0xFF), dispose, blend]
        return PNGBuilder.chunk("fcTL", data)
    }

    /// zlib data of 8-bit RGBA pixels (`width` per row).
    static func rgbaData(_ pixels: [[UInt8]], width: Int) -> [UInt8] {
        let flat = pixels.flatMap { $0 }
        var raw: [UInt8] = []
        for row in stride(from: 0, to: flat.count, by: width * 4) { raw += [0] + flat[row..<(row + width * 4)] }
        return PNGBuilder.zlibStored(raw)
    }

    static func idat(_ pixels: [[UInt8]], width: Int) -> [UInt8] { PNGBuilder.chunk("IDAT", rgbaData(pixels, width: width)) }

    static func fdAT(_ sequence: UInt32, _ pixels: [[UInt8]], width: Int) -> [UInt8] {
        PNGBuilder.chunk("fdAT", PNGBuilder.be32(sequence) + rgbaData(pixels, width: width))
    }

    static func file(width: Int, height: Int, bitDepth: UInt8 = 8, colorType: UInt8 = 6, _ chunks: [[UInt8]]) -> [UInt8] {
        let ihdr = PNGBuilder.be32(UInt32(width)) + PNGBuilder.be32(UInt32(height)) + [bitDepth, colorType, 0, 0, 0]
        return PNGBuilder.signature + PNGBuilder.chunk("IHDR", ihdr) + chunks.flatMap { $0 } + PNGBuilder.chunk("IEND", [])
    }
}

@Suite struct AnimatedPNGTests {
    static func encode(_ frames: [[UInt8]], width: Int, height: Int, channels: Int, durations: [Int], loopCount: Int = 0,
                       chunks: [(type: String, data: [UInt8])] = []) throws -> [UInt8] {
        let writer = try AnimatedPNGWriter(width: width, height: height, channels: channels, loopCount: loopCount)
        for (frame, duration) in zip(frames, durations) { try writer.add(frame, durationMilliseconds: duration) }
        return try writer.finish(privateChunks: chunks)
    }

    @Test(arguments: [(3, 4), (4, 4), (3, 1), (4, 1)])
    func losslessRoundTrip(channels: Int, count: Int) throws {
        let w = 11, h = 7
        let frames = animationFrames(count: count, width: w, height: h, channels: channels, minimumAlpha: 0)
        let durations = [100, 33, 70_000, 0].prefix(count).map { $0 }
        let prompt = #"{"1": {"class_type": "SaveAnimatedPNG"}}"#
        let chunks: [(type: String, data: [UInt8])] = [
            (type: "comf", data: Array("prompt".utf8) + [0] + Array(prompt.utf8)),
            (type: "comf", data: Array("workflow".utf8) + [0] + Array("{}".utf8)),
        ]
        let png = try Self.encode(frames, width: w, height: h, channels: channels, durations: durations, loopCount: 2,
                                  chunks: chunks)
        #expect(ImageCodec.sniff(png) == .png)
        let file = try decodeImageFile(png)
        #expect(file.codec == .png)
        #expect(file.loopCount == 2)
        #expect(file.privateChunks == [TextChunk("prompt", prompt), TextChunk("workflow", "{}")])
        try #require(file.frames.count == count)
        for (i, frame) in file.frames.enumerated() {
            #expect(frame.width == w && frame.height == h && frame.channels == 4 && frame.bitDepth == 8)
            #expect(sameBytes(frame.pixels, rgba(frames[i], channels: channels)), "frame \(i)")
            #expect(frame.durationMilliseconds == durations[i])
            #expect(frame.alpha == (channels == 4 ? .channel : .none))
        }
    }

    @Test func chunkLayout() throws {
        let frames = animationFrames(count: 3, width: 4, height: 4, channels: 3)
        let png = try Self.encode(frames, width: 4, height: 4, channels: 3, durations: [100, 100, 100], loopCount: 7,
                                  chunks: [(type: "comf", data: Array("k\u{0}v".utf8))])
        var types: [String] = []
        var offset = 8
        while offset + 8 <= png.count {
            let length = Int(PNGBuilderRead.be32(png, offset))
            types.append(String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self))
            if types.last == "acTL" { #expect(Array(png[(offset + 8)..<(offset + 16)]) == [0, 0, 0, 3, 0, 0, 0, 7]) }
            offset += 12 + length
        }
        #expect(offset == png.count)
        #expect(types == ["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "comf", "IEND"])
    }

    @Test func ffmpegDecodesTheSameFrames() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let w = 10, h = 6
        let frames = animationFrames(count: 4, width: w, height: h, channels: 4)
        dir.write("anim.png", try Self.encode(frames, width: w, height: h, channels: 4, durations: [100, 250, 40, 100]))
        let path = dir.path + "/anim.png"
        let probe = try ExternalTool.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                          "stream=codec_name,nb_read_frames,width,height", "-of", "json", path],
                                         package: "ffmpeg")
        let json = try #require(try JSONSerialization.jsonObject(with: probe) as? [String: Any])
        let stream = try #require((json["streams"] as? [[String: Any]])?.first)
        #expect(stream["codec_name"] as? String == "apng")
        #expect(stream["nb_read_frames"] as? String == "4")
        #expect(stream["width"] as? Int == w && stream["height"] as? Int == h)
        // passthrough: one output frame per APNG frame, whatever the delays.
        let raw = try ExternalTool.run(["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo",
                                        "-pix_fmt", "rgba", "-"], package: "ffmpeg")
        #expect(raw.count == frames.count * w * h * 4)
        #expect(sameBytes([UInt8](raw), frames.flatMap { $0 }))

        // RGB frames come back from ffmpeg with opaque alpha.
        let rgb = animationFrames(count: 2, width: w, height: h, channels: 3)
        dir.write("rgb.png", try Self.encode(rgb, width: w, height: h, channels: 3, durations: [50, 50]))
        let rgbRaw = try ExternalTool.run(["ffmpeg", "-v", "error", "-i", dir.path + "/rgb.png", "-fps_mode", "passthrough",
                                           "-f", "rawvideo", "-pix_fmt", "rgba", "-"], package: "ffmpeg")
        #expect(sameBytes([UInt8](rgbRaw), rgb.flatMap { rgba($0, channels: 3) }))
    }

    @Test func decodesFFmpegSubRegionBlendedFrames() throws {
        // Sparse changes between frames make ffmpeg's encoder emit sub-regions blended OVER.
        let dir = TempDir()
        defer { dir.cleanup() }
        let w = 16, h = 12
        var state: UInt32 = 12345
        func next() -> UInt8 {
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
        var current = (0..<(w * h * 4)).map { _ in next() }
        for p in 0..<(w * h) { current[p * 4 + 3] = p % 5 == 0 ? max(1, current[p * 4 + 3]) : 255 }
        var frames = [current]
        for f in 1...5 {
            for (x, y) in [(1 + f, 2), (12, 3 + f), (5, 9), (f, f)] {
                for c in 0..<3 { current[(y * w + x) * 4 + c] &+= UInt8(40 * f + c) }
            }
            if f == 3 { for p in 0..<(w * h) { current[p * 4 + 3] = 255 } }
            frames.append(current)
        }
        dir.write("in.raw", frames.flatMap { $0 })
        _ = try ExternalTool.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", "\(w)x\(h)", "-r", "10",
                                  "-i", dir.path + "/in.raw", "-f", "apng", "-pred", "mixed", "-plays", "0",
                                  dir.path + "/out.png"], package: "ffmpeg")
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out.png")))
        // The file really uses partial frames and blend OVER.
        var controls: [[UInt8]] = []
        var offset = 8
        while offset + 12 <= png.count {
            let length = Int(PNGBuilderRead.be32(png, offset))
            if String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self) == "fcTL" {
                controls.append(Array(png[(offset + 8)..<(offset + 8 + length)]))
            }
            offset += 12 + length
        }
        #expect(controls.count == frames.count)
        #expect(controls.contains { $0[25] == 1 } && controls.contains { PNGBuilderRead.be32($0, 4) < UInt32(w) })
        let file = try decodeImageFile(png)
        #expect(file.loopCount == 0)
        try #require(file.frames.count == frames.count)
        for (i, frame) in file.frames.enumerated() {
            #expect(sameBytes(frame.pixels, frames[i]), "frame \(i)")
            #expect(frame.durationMilliseconds == 100)
        }
    }

    // Canvas 4x4. Frame 0: opaque red (IDAT). Frame 1: 2x2 at (1,1), blend OVER, dispose BACKGROUND.
    // Frame 2: 1x1 at (3,3), SOURCE, dispose PREVIOUS. Frame 3: 1x1 at (0,0), OVER.
    static let red: [UInt8] = [255, 0, 0, 255]
    static let patch: [[UInt8]] = [[0, 0, 0, 0], [0, 0, 255, 255], [0, 255, 0, 128], [10, 20, 30, 255]]

    static func compositedFile(defaultImage: Bool = false) -> [UInt8] {
        var chunks: [[UInt8]] = [APNGBuilder.acTL(frames: 4, plays: 1), PNGBuilder.chunk("tEXt", Array("Title\u{0}demo".utf8))]
        var seq: UInt32 = 0
        let fullRed = [[UInt8]](repeating: red, count: 16)
        if defaultImage {
            // A default image that is not part of the animation: all green.
            chunks.append(APNGBuilder.idat([[UInt8]](repeating: [0, 255, 0, 255], count: 16), width: 4))
            chunks.append(APNGBuilder.fcTL(seq, width: 4, height: 4)); seq += 1
            chunks.append(APNGBuilder.fdAT(seq, fullRed, width: 4)); seq += 1
        } else {
            chunks.append(APNGBuilder.fcTL(seq, width: 4, height: 4)); seq += 1
            chunks.append(APNGBuilder.idat(fullRed, width: 4))
        }
        chunks.append(APNGBuilder.fcTL(seq, width: 2, height: 2, x: 1, y: 1, delay: (3, 0), dispose: 1, blend: 1)); seq += 1
        chunks.append(APNGBuilder.fdAT(seq, patch, width: 2)); seq += 1
        chunks.append(APNGBuilder.fcTL(seq, width: 1, height: 1, x: 3, y: 3, delay: (250, 1000), dispose: 2)); seq += 1
        chunks.append(APNGBuilder.fdAT(seq, [[1, 2, 3, 4]], width: 1)); seq += 1
        chunks.append(APNGBuilder.fcTL(seq, width: 1, height: 1, x: 0, y: 0, delay: (1, 1), blend: 1)); seq += 1
        chunks.append(APNGBuilder.fdAT(seq, [[0, 0, 255, 255]], width: 1))
        chunks.append(PNGBuilder.chunk("comf", Array("prompt\u{0}{}".utf8)))
        return APNGBuilder.file(width: 4, height: 4, chunks)
    }

    static func pixel(_ frame: DecodedImage, _ x: Int, _ y: Int) -> [UInt8] {
        let i = (y * frame.width + x) * 4
        return Array(frame.pixels[i..<(i + 4)])
    }

    @Test(arguments: [false, true])
    func compositesRegionsBlendAndDispose(defaultImage: Bool) throws {
        let file = try decodeImageFile(Self.compositedFile(defaultImage: defaultImage))
        #expect(file.loopCount == 1)
        #expect(file.textChunks == [TextChunk("Title", "demo")])
        #expect(file.privateChunks == [TextChunk("prompt", "{}")])
        let f = file.frames
        try #require(f.count == 4)
        #expect(f.map(\.durationMilliseconds) == [100, 30, 250, 1000])
        #expect(f[0].pixels == [UInt8]((0..<16).flatMap { _ in Self.red }))
        // Frame 1: transparent source keeps red, opaque blue replaces, half green mixes, opaque copies.
        #expect(Self.pixel(f[1], 1, 1) == Self.red)
        #expect(Self.pixel(f[1], 2, 1) == [0, 0, 255, 255])
        #expect(Self.pixel(f[1], 1, 2) == [127, 128, 0, 255])
        #expect(Self.pixel(f[1], 2, 2) == [10, 20, 30, 255])
        #expect(Self.pixel(f[1], 0, 0) == Self.red && Self.pixel(f[1], 3, 3) == Self.red)
        // Frame 2: frame 1's region was cleared (BACKGROUND); (3,3) replaced (SOURCE).
        for (x, y) in [(1, 1), (2, 1), (1, 2), (2, 2)] { #expect(Self.pixel(f[2], x, y) == [0, 0, 0, 0]) }
        #expect(Self.pixel(f[2], 3, 3) == [1, 2, 3, 4])
        #expect(Self.pixel(f[2], 0, 0) == Self.red)
        // Frame 3: (3,3) restored (PREVIOUS), (0,0) blue.
        #expect(Self.pixel(f[3], 3, 3) == Self.red)
        #expect(Self.pixel(f[3], 0, 0) == [0, 0, 255, 255])
        #expect(Self.pixel(f[3], 2, 2) == [0, 0, 0, 0])
        #expect(f.allSatisfy { $0.alpha == .channel })
    }

    @Test func sixteenBitFramesKeepTheirDepth() throws {
        // Canvas 2x1 RGB16; frame 1 replaces the right pixel.
        func data(_ samples: [UInt16]) -> [UInt8] {
            PNGBuilder.zlibStored([0] + samples.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        }
        let png = APNGBuilder.file(width: 2, height: 1, bitDepth: 16, colorType: 2, [
            APNGBuilder.acTL(frames: 2),
            APNGBuilder.fcTL(0, width: 2, height: 1),
            PNGBuilder.chunk("IDAT", data([0x1234, 0, 0xFFFF, 1, 2, 3])),
            APNGBuilder.fcTL(1, width: 1, height: 1, x: 1, blend: 1),
            PNGBuilder.chunk("fdAT", PNGBuilder.be32(2) + data([0xABCD, 0x8000, 7])),
        ])
        let frames = try decodeImage(png)
        try #require(frames.count == 2)
        #expect(frames[0].samples == .uint16([0x1234, 0, 0xFFFF, 0xFFFF, 1, 2, 3, 0xFFFF]))
        #expect(frames[1].samples == .uint16([0x1234, 0, 0xFFFF, 0xFFFF, 0xABCD, 0x8000, 7, 0xFFFF]))
        #expect(frames[1].alpha == .none)
        #expect(try decodeImage(png, keep16Bit: false)[1].pixels == [0x12, 0, 0xFF, 0xFF, 0xAB, 0x80, 0, 0xFF])
    }

    @Test func truncatedFilesThrow() throws {
        let files = [try Self.encode(animationFrames(count: 3, width: 9, height: 5, channels: 4), width: 9, height: 5,
                                     channels: 4, durations: [10, 20, 30]),
                     Self.compositedFile()]
        for file in files {
            for cut in 0..<file.count {
                #expect(throws: MediaError.self, "cut at \(cut)") { try decodeImage(Array(file.prefix(cut))) }
            }
        }
    }

    @Test func corruptedBytesNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        let file = Self.compositedFile()
        for _ in 0..<300 {
            var bad = file
            for _ in 0..<3 { bad[Int.random(in: 8..<bad.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            if let frames = try? decodeImage(bad) { #expect(!frames.isEmpty) }
        }
    }

    static func twoFrames(acTL: [UInt8], secondSequence: UInt32 = 1, dataSequence: UInt32 = 2) -> [UInt8] {
        let px = [[UInt8]](repeating: [9, 9, 9, 255], count: 4)
        return APNGBuilder.file(width: 2, height: 2, [
            acTL,
            APNGBuilder.fcTL(0, width: 2, height: 2), APNGBuilder.idat(px, width: 2),
            APNGBuilder.fcTL(secondSequence, width: 2, height: 2), APNGBuilder.fdAT(dataSequence, px, width: 2),
        ])
    }

    static func code(_ data: [UInt8], maxPixels: Int = defaultMaxDecodedPixels) -> MediaError.Code? {
        do {
            _ = try decodeImage(data, maxPixels: maxPixels)
            return nil
        } catch let error as MediaError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test func frameCountsAreChecked() throws {
        #expect(try decodeImage(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 2))).count == 2)
        // Absurd counts are refused before anything is decoded.
        #expect(Self.code(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 0x7FFF_FFFF))) == .tooLarge)
        #expect(Self.code(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 0xFFFF_FFFF))) == .invalidData)
        #expect(Self.code(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 0))) == .invalidData)
        // Counts that disagree with the frames present.
        #expect(Self.code(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 3))) == .invalidData)
        #expect(Self.code(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 1))) == .invalidData)
        // maxPixels counts every frame: 2x2 x 2 frames = 8 pixels.
        #expect(Self.code(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 2)), maxPixels: 7) == .tooLarge)
        #expect(Self.code(Self.twoFrames(acTL: APNGBuilder.acTL(frames: 2)), maxPixels: 8) == nil)
    }

    @Test func sequenceErrorsAreRejected() {
        let acTL = APNGBuilder.acTL(frames: 2)
        #expect(Self.code(Self.twoFrames(acTL: acTL, secondSequence: 2, dataSequence: 1)) == .invalidData)
        #expect(Self.code(Self.twoFrames(acTL: acTL, secondSequence: 1, dataSequence: 1)) == .invalidData)
        #expect(Self.code(Self.twoFrames(acTL: acTL, secondSequence: 1, dataSequence: 5)) == .invalidData)
        #expect(Self.code(Self.twoFrames(acTL: acTL, secondSequence: 0, dataSequence: 2)) == .invalidData)
    }

    @Test func malformedStructureIsRejected() {
        let px = [[UInt8]](repeating: [1, 2, 3, 255], count: 4)
        // A region outside the canvas.
        let outside = APNGBuilder.file(width: 2, height: 2, [
            APNGBuilder.acTL(frames: 2), APNGBuilder.fcTL(0, width: 2, height: 2), APNGBuilder.idat(px, width: 2),
            APNGBuilder.fcTL(1, width: 2, height: 2, x: 1), APNGBuilder.fdAT(2, px, width: 2),
        ])
        #expect(Self.code(outside) == .invalidData)
        // A frame without data.
        let empty = APNGBuilder.file(width: 2, height: 2, [
            APNGBuilder.acTL(frames: 2), APNGBuilder.fcTL(0, width: 2, height: 2), APNGBuilder.idat(px, width: 2),
            APNGBuilder.fcTL(1, width: 2, height: 2),
        ])
        #expect(Self.code(empty) == .invalidData)
        // Invalid dispose op.
        let dispose = APNGBuilder.file(width: 2, height: 2, [
            APNGBuilder.acTL(frames: 1), APNGBuilder.fcTL(0, width: 2, height: 2, dispose: 3), APNGBuilder.idat(px, width: 2),
        ])
        #expect(Self.code(dispose) == .invalidData)
        // A bad CRC on fdAT.
        var crc = Self.twoFrames(acTL: APNGBuilder.acTL(frames: 2))
        crc[crc.count - 12 - 1] ^= 0xFF
        #expect(Self.code(crc) == .invalidData)
        // Frame data that is not a valid zlib stream.
        let garbage = APNGBuilder.file(width: 2, height: 2, [
            APNGBuilder.acTL(frames: 2), APNGBuilder.fcTL(0, width: 2, height: 2), APNGBuilder.idat(px, width: 2),
            APNGBuilder.fcTL(1, width: 2, height: 2), PNGBuilder.chunk("fdAT", PNGBuilder.be32(2) + [1, 2, 3, 4, 5]),
        ])
        #expect(Self.code(garbage) == .invalidData)
    }

    @Test func writerMisuseThrows() throws {
        #expect(throws: MediaError.self) { try AnimatedPNGWriter(width: 2, height: 2, channels: 2) }
        #expect(throws: MediaError.self) { try AnimatedPNGWriter(width: 0, height: 2, channels: 3) }
        #expect(throws: MediaError.self) { try AnimatedPNGWriter(width: 2, height: 2, channels: 3, loopCount: -1) }
        let writer = try AnimatedPNGWriter(width: 2, height: 2, channels: 3)
        #expect(throws: MediaError.self) { try writer.add([UInt8](repeating: 0, count: 16), durationMilliseconds: 10) }
        #expect(throws: MediaError.self) { try writer.finish() } // zero frames
        try writer.add([UInt8](repeating: 0, count: 12), durationMilliseconds: 10)
        for bad in ["IDAT", "fcTL", "abc", "ab1d", "tooLong"] {
            #expect(throws: MediaError.self, "\(bad)") { try writer.finish(privateChunks: [(type: bad, data: [])]) }
        }
        #expect(writer.frameCount == 1)
        _ = try writer.finish()
        #expect(throws: MediaError.self) { try writer.add([UInt8](repeating: 0, count: 12), durationMilliseconds: 10) }
        #expect(throws: MediaError.self) { try writer.finish() }
    }

    @Test func delayFractions() {
        #expect(AnimatedPNGWriter.delay(0) == (0, 1000))
        #expect(AnimatedPNGWriter.delay(-5) == (0, 1000))
        #expect(AnimatedPNGWriter.delay(65535) == (65535, 1000))
        #expect(AnimatedPNGWriter.delay(70_004) == (7000, 100))
        #expect(AnimatedPNGWriter.delay(10_000_000) == (10000, 1))
        #expect(AnimatedPNGWriter.delay(100_000_000) == (65535, 1))
    }

    @Test func plainPNGIsNotAnimated() throws {
        let png = try encodePNG([1, 2, 3], width: 1, height: 1, channels: 3)
        #expect(!isAnimatedPNG(png))
        let file = try decodeImageFile(png)
        #expect(file.loopCount == nil && file.privateChunks.isEmpty && file.frames.count == 1)
        // acTL after IDAT is not an animation: the file decodes as a still.
        let late = APNGBuilder.file(width: 1, height: 1, [APNGBuilder.idat([[5, 6, 7, 255]], width: 1), APNGBuilder.acTL(frames: 1)])
        #expect(!isAnimatedPNG(late))
        #expect(try decodeImage(late).map(\.pixels) == [[5, 6, 7, 255]])
    }
}

enum PNGBuilderRead {
    static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}
