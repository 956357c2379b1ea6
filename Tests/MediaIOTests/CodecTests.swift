import Foundation
import Testing
@testable import MediaIO

@Suite struct PNGCodecTests {
    static func gradient(width: Int, height: Int, channels: Int) -> [UInt8] {
        (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 5) }
    }

    @Test(arguments: [3, 4])
    func roundTripWithTextChunks(channels: Int) throws {
        let pixels = Self.gradient(width: 13, height: 7, channels: channels)
        let prompt = #"{"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}"#
        let png = try encodePNG(pixels, width: 13, height: 7, channels: channels, compressLevel: 4,
                                textChunks: [("prompt", prompt), ("workflow", "{\"nodes\": []}")])
        // The chunks are really in the file, as uncompressed tEXt before IDAT.
        #expect(contains(png, Array("tEXtprompt\u{0}".utf8) + Array(prompt.utf8)))
        #expect(contains(png, Array("tEXtworkflow\u{0}".utf8)))
        let file = try decodeImageFile(png)
        #expect(file.codec == .png)
        #expect(file.textChunks == [TextChunk("prompt", prompt), TextChunk("workflow", "{\"nodes\": []}")])
        let frame = try #require(file.frames.first)
        #expect(frame.width == 13 && frame.height == 7 && frame.channels == 4 && frame.bitDepth == 8)
        #expect(frame.alpha == (channels == 4 ? .channel : .none))
        let rgba = frame.pixels
        for p in 0..<(13 * 7) {
            for c in 0..<3 { #expect(rgba[p * 4 + c] == pixels[p * channels + c]) }
            #expect(rgba[p * 4 + 3] == (channels == 4 ? pixels[p * 4 + 3] : 255))
        }
    }

    @Test func nonASCIITextUsesITXt() throws {
        let png = try encodePNG([0, 0, 0], width: 1, height: 1, channels: 3, textChunks: [("prompt", "héllo ✓")])
        #expect(contains(png, Array("iTXtprompt".utf8)))
        #expect(try decodeImageFile(png).textChunks == [TextChunk("prompt", "héllo ✓")])
    }

    @Test func invalidKeywordIsRejected() {
        #expect(throws: MediaError.self) { try encodePNG([0, 0, 0], width: 1, height: 1, channels: 3, textChunks: [("", "x")]) }
        #expect(throws: MediaError.self) {
            try encodePNG([0, 0, 0], width: 1, height: 1, channels: 3, textChunks: [(String(repeating: "k", count: 80), "x")])
        }
    }

    @Test func sixteenBitRGB() throws {
        // 2x1 RGB16: (0x1234, 0xFFFF, 0x0000), (0x8000, 0x00FF, 0xFF00)
        let row: [UInt8] = [0x12, 0x34, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0x00]
        let png = PNGBuilder.png(width: 2, height: 1, bitDepth: 16, colorType: 2, rows: [row])
        let frame = try #require(try decodeImage(png).first)
        #expect(frame.bitDepth == 16 && frame.alpha == .none)
        #expect(frame.samples == .uint16([0x1234, 0xFFFF, 0, 0xFFFF, 0x8000, 0x00FF, 0xFF00, 0xFFFF]))
        #expect(frame.normalized(x: 1, y: 0, channel: 0) == Float(0x8000) / 65535)
        let eight = try #require(try decodeImage(png, keep16Bit: false).first)
        #expect(eight.samples == .uint8([0x12, 0xFF, 0x00, 0xFF, 0x80, 0x00, 0xFF, 0xFF]))
    }

    @Test func grayscaleAndGrayAlpha() throws {
        let gray = PNGBuilder.png(width: 3, height: 1, bitDepth: 8, colorType: 0, rows: [[0, 128, 255]])
        #expect(try decodeImage(gray)[0].pixels == [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255])
        let oneBit = PNGBuilder.png(width: 8, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000]])
        #expect(Array(try decodeImage(oneBit)[0].pixels.prefix(8)) == [255, 255, 255, 255, 0, 0, 0, 255])
        let ga = PNGBuilder.png(width: 1, height: 1, bitDepth: 8, colorType: 4, rows: [[200, 50]])
        let frame = try decodeImage(ga)[0]
        #expect(frame.pixels == [200, 200, 200, 50] && frame.alpha == .channel)
    }

    @Test func paletteWithTransparency() throws {
        let plte = PNGBuilder.chunk("PLTE", [255, 0, 0, 0, 255, 0, 0, 0, 255])
        let trns = PNGBuilder.chunk("tRNS", [0, 128]) // index 0 transparent, 1 half, 2 opaque
        let png = PNGBuilder.png(width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[0, 1, 2]], extra: [plte, trns])
        let frame = try decodeImage(png)[0]
        #expect(frame.alpha == .palette)
        #expect(frame.pixels == [255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255])
        let opaque = PNGBuilder.png(width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[2, 1, 0]], extra: [plte])
        let f2 = try decodeImage(opaque)[0]
        #expect(f2.alpha == .none && f2.pixels == [0, 0, 255, 255, 0, 255, 0, 255, 255, 0, 0, 255])
    }

    @Test func colorKeyIsReportedSeparately() throws {
        let trns = PNGBuilder.chunk("tRNS", [0, 0, 0, 0, 0, 0])
        let png = PNGBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 2, rows: [[0, 0, 0, 9, 9, 9]], extra: [trns])
        let frame = try decodeImage(png)[0]
        #expect(frame.alpha == .colorKey)
        #expect(frame.pixels == [0, 0, 0, 0, 9, 9, 9, 255])
    }
}

@Suite struct OtherCodecTests {
    @Test func jpegRoundTripIsClose() throws {
        let w = 16, h = 16
        let pixels = (0..<(w * h)).flatMap { p -> [UInt8] in [UInt8(p % w * 16), UInt8(p / w * 16), 128] }
        let jpeg = try encodeJPEG(pixels, width: w, height: h, channels: 3, quality: 95)
        #expect(ImageCodec.sniff(jpeg) == .jpeg)
        let frame = try decodeImage(jpeg)[0]
        #expect(frame.width == w && frame.height == h && frame.channels == 3 && !frame.hasAlpha)
        let maxDiff = zip(frame.pixels, pixels).map { abs(Int($0) - Int($1)) }.max()!
        #expect(maxDiff < 24)
        // RGBA input: alpha is dropped.
        let rgba = try encodeJPEG([UInt8](repeating: 200, count: 4 * 4 * 4), width: 4, height: 4, channels: 4)
        #expect(try decodeImage(rgba)[0].channels == 3)
    }

    @Test func jpegExifOrientationIsApplied() throws {
        // 16x8: left half red, right half blue; EXIF orientation 6 (rotate 90° clockwise to display).
        let pixels = (0..<(16 * 8)).flatMap { p -> [UInt8] in p % 16 < 8 ? [255, 0, 0] : [0, 0, 255] }
        let jpeg = try encodeJPEG(pixels, width: 16, height: 8, channels: 3, quality: 95)
        let tiff: [UInt8] = [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00,
                             0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0, 0, 0, 0]
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let app1: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        let oriented = Array(jpeg.prefix(2)) + app1 + Array(jpeg.dropFirst(2))
        let frame = try decodeImage(oriented)[0]
        #expect(frame.width == 8 && frame.height == 16)
        let px = frame.pixels
        #expect(px[(2 * 8 + 4) * 3] > 200 && px[(2 * 8 + 4) * 3 + 2] < 60)   // top: red
        #expect(px[(13 * 8 + 4) * 3] < 60 && px[(13 * 8 + 4) * 3 + 2] > 200) // bottom: blue
        let raw = try decodeImage(oriented, applyOrientation: false)[0]
        #expect(raw.width == 16 && raw.height == 8)
    }

    @Test func webpStillLosslessIsExact() throws {
        let pixels = PNGCodecTests.gradient(width: 9, height: 5, channels: 4)
        let webp = try encodeWEBP(pixels, width: 9, height: 5, channels: 4, lossless: true)
        #expect(ImageCodec.sniff(webp) == .webp)
        let frame = try decodeImage(webp)[0]
        #expect(frame.channels == 4 && frame.alpha == .channel)
        #expect(frame.pixels == pixels)
        let rgb = try encodeWEBP(Array(pixels.prefix(9 * 5 * 3)), width: 9, height: 5, channels: 3, quality: 90)
        let lossy = try decodeImage(rgb)[0]
        #expect(lossy.channels == 3 && !lossy.hasAlpha && lossy.width == 9)
    }

    @Test func animatedWebpDecodesAllFrames() throws {
        let w = 4, h = 3
        let frames: [[UInt8]] = (0..<3).map { i in (0..<(w * h)).flatMap { _ in [UInt8(i * 80), 10, 20, 255] } }
        let webp = try encodeAnimatedWEBP(frames: frames, width: w, height: h, durationsMilliseconds: [100, 200, 300],
                                          lossless: true)
        let file = try decodeImageFile(webp)
        #expect(file.codec == .webp && file.frames.count == 3 && file.loopCount == 0)
        for (i, f) in file.frames.enumerated() {
            #expect(f.width == w && f.height == h && f.channels == 4)
            #expect(f.pixels == frames[i])
            #expect(f.durationMilliseconds == [100, 200, 300][i])
        }
    }

    @Test func unknownFormatIsAClearError() {
        do {
            _ = try decodeImage(Array("GIF89a....".utf8))
            Issue.record("expected a throw")
        } catch let e as MediaError {
            #expect(e.code == .unsupportedFormat)
        } catch { Issue.record("wrong error \(error)") }
    }
}

@Suite struct CorruptInputTests {
    static func validFiles() throws -> [[UInt8]] {
        let px = PNGCodecTests.gradient(width: 32, height: 32, channels: 3)
        let rgba = PNGCodecTests.gradient(width: 8, height: 8, channels: 4)
        return [
            try encodePNG(px, width: 32, height: 32, channels: 3, textChunks: [("prompt", "{}")]),
            try encodeJPEG(px, width: 32, height: 32, channels: 3),
            try encodeWEBP(px, width: 32, height: 32, channels: 3),
            try encodeAnimatedWEBP(frames: [rgba, Array(rgba.reversed())], width: 8, height: 8, durationsMilliseconds: [50, 50]),
        ]
    }

    @Test func truncatedFilesNeverCrash() throws {
        for file in try Self.validFiles() {
            for cut in stride(from: 0, to: file.count, by: max(1, file.count / 40)) {
                // Either a clean error or (for formats that tolerate truncation, like JPEG) an image.
                if let frames = try? decodeImage(Array(file.prefix(cut))) { #expect(!frames.isEmpty) }
            }
        }
    }

    @Test func corruptedBytesNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        for file in try Self.validFiles() {
            for _ in 0..<60 {
                var bad = file
                for _ in 0..<4 { bad[Int.random(in: 8..<bad.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                _ = try? decodeImage(bad)
            }
        }
    }

    @Test func truncatedPNGReportsInvalidData() throws {
        let png = try encodePNG([UInt8](repeating: 7, count: 64 * 64 * 3), width: 64, height: 64, channels: 3)
        #expect(throws: MediaError.self) { try decodeImage(Array(png.prefix(png.count / 2))) }
        #expect(throws: MediaError.self) { try decodeImage(Array(png.prefix(8))) }
    }

    @Test func absurdDimensionsAreRefusedBeforeAllocating() throws {
        // A 100000 x 100000 header with a tiny body.
        let png = PNGBuilder.png(width: 100_000, height: 100_000, bitDepth: 8, colorType: 2, rows: [[0, 0, 0]])
        do {
            _ = try decodeImage(png)
            Issue.record("expected a throw")
        } catch let e as MediaError {
            #expect(e.code == .tooLarge)
        }
        let small = try encodePNG([UInt8](repeating: 0, count: 20 * 20 * 3), width: 20, height: 20, channels: 3)
        #expect(throws: MediaError.self) { try decodeImage(small, maxPixels: 399) }
        #expect(try decodeImage(small, maxPixels: 400).count == 1)
    }
}
