import Foundation
import MediaIO

/// Small PNGs for upload and LoadImage tests.
enum TestImages {
    /// A `size`×`size` PNG: a colour gradient; with `rgba`, the left half transparent (alpha 0) and
    /// the right half opaque.
    static func png(size: Int = 16, rgba: Bool = false, seed: UInt8 = 0) throws -> [UInt8] {
        let channels = rgba ? 4 : 3
        var pixels = [UInt8](repeating: 0, count: size * size * channels)
        for y in 0..<size {
            for x in 0..<size {
                let i = (y * size + x) * channels
                pixels[i] = UInt8(truncatingIfNeeded: x * 16) &+ seed
                pixels[i + 1] = UInt8(truncatingIfNeeded: y * 16)
                pixels[i + 2] = 200
                if rgba { pixels[i + 3] = x < size / 2 ? 0 : 255 }
            }
        }
        return try encodePNG(pixels, width: size, height: size, channels: channels)
    }
}

/// Writes a small PNG at `path`.
func writePNG(rgba: Bool = false, seed: UInt8 = 0, to path: String) throws {
    try Data(TestImages.png(rgba: rgba, seed: seed)).write(to: URL(fileURLWithPath: path))
}

extension DecodedImage {
    /// The 8-bit RGB of pixel (`x`, `y`).
    func rgb(_ x: Int, _ y: Int) -> [UInt8] {
        let i = (y * width + x) * channels
        return Array(pixels[i..<(i + 3)])
    }

    /// The 8-bit alpha of pixel (`x`, `y`) (255 without an alpha channel).
    func alphaValue(_ x: Int, _ y: Int) -> UInt8 {
        channels == 4 ? pixels[(y * width + x) * 4 + 3] : 255
    }
}
