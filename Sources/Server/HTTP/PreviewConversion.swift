import MediaIO

/// Re-encodings `/view` and `/upload/mask` perform on images.
enum PreviewConversion {
    /// `preview=webp|jpeg[;quality]` (anything else → webp) and `channel=rgba|rgb|a`.
    static func convert(_ frame: DecodedImage, spec: String?, channel: String) throws -> (bytes: [UInt8], type: String) {
        let rgba = rgbaPixels(frame)
        let count = frame.width * frame.height
        if let spec {
            let parts = spec.split(separator: ";")
            let format = parts.first.map(String.init) ?? "webp"
            let quality = parts.count > 1 ? Int(parts[1]) ?? 90 : 90
            if format == "jpeg" {
                var rgb = [UInt8](repeating: 0, count: count * 3)
                for i in 0..<count { for c in 0..<3 { rgb[i * 3 + c] = rgba[i * 4 + c] } }
                return (try encodeJPEG(rgb, width: frame.width, height: frame.height, channels: 3, quality: quality), "image/jpeg")
            }
            if channel == "rgb" {
                var rgb = [UInt8](repeating: 0, count: count * 3)
                for i in 0..<count { for c in 0..<3 { rgb[i * 3 + c] = rgba[i * 4 + c] } }
                return (try encodeWEBP(rgb, width: frame.width, height: frame.height, channels: 3, quality: quality), "image/webp")
            }
            return (try encodeWEBP(rgba, width: frame.width, height: frame.height, channels: 4, quality: quality), "image/webp")
        }
        if channel == "a" {
            var out = [UInt8](repeating: 0, count: count * 4)
            for i in 0..<count { out[i * 4 + 3] = rgba[i * 4 + 3] }
            return (try encodePNG(out, width: frame.width, height: frame.height, channels: 4), "image/png")
        }
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count { for c in 0..<3 { rgb[i * 3 + c] = rgba[i * 4 + c] } }
        return (try encodePNG(rgb, width: frame.width, height: frame.height, channels: 3), "image/png")
    }

    /// The frame as 8-bit RGBA (opaque alpha when it has none).
    static func rgbaPixels(_ frame: DecodedImage) -> [UInt8] {
        let px = frame.pixels
        if frame.channels == 4 { return px }
        let count = frame.width * frame.height
        var out = [UInt8](repeating: 255, count: count * 4)
        for i in 0..<count { for c in 0..<3 { out[i * 4 + c] = px[i * frame.channels + min(c, frame.channels - 1)] } }
        return out
    }

    /// The original image with its alpha replaced by the mask image's alpha (resized by nearest
    /// neighbour when sizes differ), as PNG keeping the original's text chunks.
    static func applyMask(original: [UInt8], mask: [UInt8]) throws -> [UInt8] {
        let file = try decodeImageFile(original, keep16Bit: false)
        guard let base = file.frames.first, let maskFrame = try decodeImage(mask, keep16Bit: false).first else {
            throw MediaError(.invalidData, "empty image")
        }
        var rgba = rgbaPixels(base)
        let maskRGBA = rgbaPixels(maskFrame)
        for y in 0..<base.height {
            let my = min(maskFrame.height - 1, y * maskFrame.height / max(base.height, 1))
            for x in 0..<base.width {
                let mx = min(maskFrame.width - 1, x * maskFrame.width / max(base.width, 1))
                rgba[(y * base.width + x) * 4 + 3] = maskRGBA[(my * maskFrame.width + mx) * 4 + 3]
            }
        }
        return try encodePNG(rgba, width: base.width, height: base.height, channels: 4, compressLevel: 4,
                             textChunks: file.textChunks.map { ($0.key, $0.value) })
    }
}
