import CMediaCodecs

/// The default limit on decoded pixels (all frames together): 2^28, a 16384×16384 image.
public let defaultMaxDecodedPixels = 1 << 28

/// Decodes a PNG, JPEG or WEBP (still or animated) file, sniffing the format from its magic bytes.
///
/// - Parameters:
///   - data: the file's bytes.
///   - maxPixels: refuse files whose width × height × frames exceeds this, before allocating.
///   - keep16Bit: keep 16-bit PNG samples (otherwise reduce to their high byte).
///   - applyOrientation: apply a JPEG's EXIF orientation, like Pillow's `exif_transpose`.
/// - Returns: the frames (one for stills), each RGB or RGBA.
/// - Throws: ``MediaError`` for unknown formats, corrupt or truncated data, or oversize images.
public func decodeImage(_ data: [UInt8], maxPixels: Int = defaultMaxDecodedPixels, keep16Bit: Bool = true,
                        applyOrientation: Bool = true) throws -> [DecodedImage] {
    try decodeImageFile(data, maxPixels: maxPixels, keep16Bit: keep16Bit, applyOrientation: applyOrientation).frames
}

/// Decodes a file like ``decodeImage(_:maxPixels:keep16Bit:applyOrientation:)`` and also returns its
/// format and PNG text chunks. An animated PNG (APNG) gives every composited frame, its loop count and
/// its `comf` chunks.
/// - Throws: ``MediaError``.
public func decodeImageFile(_ data: [UInt8], maxPixels: Int = defaultMaxDecodedPixels, keep16Bit: Bool = true,
                            applyOrientation: Bool = true) throws -> DecodedImageFile {
    guard let codec = ImageCodec.sniff(data) else {
        throw MediaError(.unsupportedFormat, "Unsupported image format (not PNG, JPEG or WEBP)")
    }
    if codec == .png && isAnimatedPNG(data) {
        return try decodeAnimatedPNG(data, maxPixels: max(0, maxPixels), keep16Bit: keep16Bit)
    }
    var image = loom_image()
    var err = [CChar](repeating: 0, count: 512)
    let limit = UInt64(max(0, maxPixels))
    let rc: Int32 = data.withUnsafeBufferPointer { buf in
        err.withUnsafeMutableBufferPointer { e in
            switch codec {
            case .png:
                return loom_png_decode(buf.baseAddress, buf.count, limit, keep16Bit ? 1 : 0, &image, e.baseAddress, e.count)
            case .jpeg:
                return loom_jpeg_decode(buf.baseAddress, buf.count, limit, applyOrientation ? 1 : 0, &image,
                                        e.baseAddress, e.count)
            case .webp:
                return loom_webp_decode(buf.baseAddress, buf.count, limit, &image, e.baseAddress, e.count)
            }
        }
    }
    defer { loom_image_free(&image) }
    guard rc == LOOM_OK else { throw mediaError(rc, err, fallback: "Cannot decode \(codec.rawValue.uppercased()) image") }
    return DecodedImageFile(codec: codec, frames: frames(of: image), textChunks: textChunks(of: image),
                            loopCount: codec == .webp && image.frame_count > 1 ? Int(image.loop_count) : nil)
}

/// Turns a C return code and message into a ``MediaError``.
func mediaError(_ rc: Int32, _ err: [CChar], fallback: String) -> MediaError {
    let message = err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    let text = message.isEmpty ? fallback : message
    switch rc {
    case LOOM_ERR_TOO_LARGE: return MediaError(.tooLarge, text)
    case LOOM_ERR_NOMEM: return MediaError(.outOfMemory, text)
    case LOOM_ERR_ARGUMENT: return MediaError(.invalidArgument, text)
    default: return MediaError(.invalidData, text)
    }
}

private func frames(of image: loom_image) -> [DecodedImage] {
    let w = Int(image.width), h = Int(image.height), c = Int(image.channels)
    let perFrame = w * h * c
    let alpha = DecodedImage.AlphaSource(rawValue: image.alpha_source) ?? .none
    var frames: [DecodedImage] = []
    frames.reserveCapacity(Int(image.frame_count))
    for f in 0..<Int(image.frame_count) {
        let samples: DecodedImage.Samples
        if image.bytes_per_sample == 2 {
            let raw = UnsafeRawPointer(image.pixels!).advanced(by: f * perFrame * 2)
            samples = .uint16(Array(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt16.self), count: perFrame)))
        } else {
            samples = .uint8(Array(UnsafeBufferPointer(start: image.pixels! + f * perFrame, count: perFrame)))
        }
        let duration = image.durations_ms.map { Int($0[f]) }
        frames.append(DecodedImage(width: w, height: h, channels: c, samples: samples, alpha: alpha,
                                   durationMilliseconds: duration))
    }
    return frames
}

private func textChunks(of image: loom_image) -> [TextChunk] {
    guard let text = image.text, image.text_count > 0 else { return [] }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: image.text_size)
    var fields: [String] = []
    var start = 0
    for i in 0..<bytes.count where bytes[i] == 0 {
        fields.append(decodeText(bytes[start..<i]))
        start = i + 1
    }
    return stride(from: 0, to: fields.count - 1, by: 2).map { TextChunk(fields[$0], fields[$0 + 1]) }
}

/// UTF-8 when valid (iTXt, ASCII tEXt), else Latin-1 (tEXt's declared encoding).
private func decodeText(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String {
    if let s = String(validating: bytes, as: UTF8.self) { return s }
    return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
}
