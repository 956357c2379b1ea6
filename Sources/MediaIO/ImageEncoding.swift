import CMediaCodecs

/// Encodes 8-bit pixels as PNG.
///
/// - Parameters:
///   - pixels: `height × width × channels` interleaved samples.
///   - width: image width.
///   - height: image height.
///   - channels: 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA).
///   - compressLevel: zlib level 0–9 (SaveImage uses 4, PreviewImage 1).
///   - textChunks: `(key, value)` pairs written before `IDAT` as `tEXt` (`iTXt` when a value is not
///     ASCII). Keys must be 1–79 Latin-1 characters.
/// - Returns: the PNG file.
/// - Throws: ``MediaError`` on invalid arguments.
public func encodePNG(_ pixels: [UInt8], width: Int, height: Int, channels: Int, compressLevel: Int = 6,
                      textChunks: [(String, String)] = []) throws -> [UInt8] {
    try checkEncodeArguments(pixels, width: width, height: height, channels: channels, allowed: 1...4)
    for (key, _) in textChunks where !isValidPNGKeyword(key) {
        throw MediaError(.invalidArgument, "Invalid PNG text keyword '\(key)' (1-79 Latin-1 characters)")
    }
    var buffer = loom_buffer()
    var err = [CChar](repeating: 0, count: 512)
    // Latin-1 keys as bytes; values as UTF-8 (the C side picks tEXt or iTXt).
    let keyStorage = textChunks.map { strdupBytes($0.0.unicodeScalars.map { UInt8($0.value) }) }
    let valueStorage = textChunks.map { strdupBytes(Array($0.1.utf8)) }
    defer { (keyStorage + valueStorage).forEach { free($0) } }
    let keys: [UnsafePointer<CChar>?] = keyStorage.map { UnsafePointer($0) }
    let values: [UnsafePointer<CChar>?] = valueStorage.map { UnsafePointer($0) }
    let rc = pixels.withUnsafeBufferPointer { px in
        keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                err.withUnsafeMutableBufferPointer { e in
                    loom_png_encode(px.baseAddress, UInt32(width), UInt32(height), UInt32(channels), Int32(compressLevel),
                                    k.baseAddress, v.baseAddress, textChunks.count, &buffer, e.baseAddress, e.count)
                }
            }
        }
    }
    return try takeBuffer(&buffer, rc: rc, err: err, format: "PNG")
}

/// Encodes 8-bit pixels as baseline JPEG (an alpha channel is dropped).
/// - Parameters:
///   - quality: 1–100 (`/view?preview=jpeg;90` uses 90).
/// - Throws: ``MediaError`` on invalid arguments.
public func encodeJPEG(_ pixels: [UInt8], width: Int, height: Int, channels: Int, quality: Int = 90) throws -> [UInt8] {
    try checkEncodeArguments(pixels, width: width, height: height, channels: channels, allowed: 1...4)
    if channels == 2 { throw MediaError(.invalidArgument, "JPEG cannot encode gray+alpha") }
    var buffer = loom_buffer()
    var err = [CChar](repeating: 0, count: 512)
    let rc = pixels.withUnsafeBufferPointer { px in
        err.withUnsafeMutableBufferPointer { e in
            loom_jpeg_encode(px.baseAddress, UInt32(width), UInt32(height), UInt32(channels), Int32(quality),
                             &buffer, e.baseAddress, e.count)
        }
    }
    return try takeBuffer(&buffer, rc: rc, err: err, format: "JPEG")
}

/// Encodes 8-bit RGB or RGBA pixels as a still WEBP.
/// - Parameters:
///   - quality: 0–100 for lossy encoding (`/view?preview=webp;90`).
///   - lossless: use the lossless encoder (quality ignored).
/// - Throws: ``MediaError`` on invalid arguments.
public func encodeWEBP(_ pixels: [UInt8], width: Int, height: Int, channels: Int, quality: Int = 90,
                       lossless: Bool = false) throws -> [UInt8] {
    try checkEncodeArguments(pixels, width: width, height: height, channels: channels, allowed: 3...4)
    var buffer = loom_buffer()
    var err = [CChar](repeating: 0, count: 512)
    let rc = pixels.withUnsafeBufferPointer { px in
        err.withUnsafeMutableBufferPointer { e in
            loom_webp_encode(px.baseAddress, UInt32(width), UInt32(height), UInt32(channels), Float(quality),
                             lossless ? 1 : 0, &buffer, e.baseAddress, e.count)
        }
    }
    return try takeBuffer(&buffer, rc: rc, err: err, format: "WEBP")
}

/// Whether `key` is a valid PNG text keyword: 1–79 printable Latin-1 characters, no leading,
/// trailing or double spaces.
public func isValidPNGKeyword(_ key: String) -> Bool {
    let scalars = Array(key.unicodeScalars)
    guard (1...79).contains(scalars.count), scalars.first != " ", scalars.last != " " else { return false }
    var previousSpace = false
    for s in scalars {
        let v = s.value
        guard (32...126).contains(v) || (161...255).contains(v) else { return false }
        if v == 32 && previousSpace { return false }
        previousSpace = v == 32
    }
    return true
}

private func checkEncodeArguments(_ pixels: [UInt8], width: Int, height: Int, channels: Int,
                                  allowed: ClosedRange<Int>) throws {
    guard allowed.contains(channels) else {
        throw MediaError(.invalidArgument, "Unsupported channel count \(channels) (expected \(allowed))")
    }
    guard width > 0, height > 0, width <= 1_000_000, height <= 1_000_000 else {
        throw MediaError(.invalidArgument, "Invalid image size \(width)x\(height)")
    }
    guard pixels.count == width * height * channels else {
        throw MediaError(.invalidArgument, "Pixel buffer has \(pixels.count) bytes, expected \(width * height * channels)")
    }
}

private func strdupBytes(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
    for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
    p[bytes.count] = 0
    return p
}

private func free(_ p: UnsafeMutablePointer<CChar>) { p.deallocate() }

private func takeBuffer(_ buffer: inout loom_buffer, rc: Int32, err: [CChar], format: String) throws -> [UInt8] {
    defer { loom_buffer_free(&buffer) }
    guard rc == LOOM_OK, let data = buffer.data else {
        throw mediaError(rc, err, fallback: "\(format) encoding failed")
    }
    return Array(UnsafeBufferPointer(start: data, count: buffer.size))
}

/// Encodes RGBA8 frames as an animated WEBP (through ``AnimatedWEBPWriter``).
/// - Parameters:
///   - frames: each `height × width × 4` bytes.
///   - durationsMilliseconds: one per frame.
///   - loopCount: 0 loops forever.
///   - quality: 0–100 for lossy frames.
///   - lossless: lossless frames.
///   - method: libwebp effort 0 (fastest) … 6 (slowest); ComfyUI's "default" is 4.
/// - Throws: ``MediaError`` on invalid arguments or encoder failure.
public func encodeAnimatedWEBP(frames: [[UInt8]], width: Int, height: Int, durationsMilliseconds: [Int],
                               loopCount: Int = 0, quality: Int = 80, lossless: Bool = false,
                               method: Int = 4) throws -> [UInt8] {
    guard !frames.isEmpty, frames.count == durationsMilliseconds.count else {
        throw MediaError(.invalidArgument, "Animated WEBP needs frames and one duration per frame")
    }
    for f in frames { try checkEncodeArguments(f, width: width, height: height, channels: 4, allowed: 4...4) }
    let writer = try AnimatedWEBPWriter(width: width, height: height, loopCount: loopCount, quality: quality,
                                        lossless: lossless, method: method)
    for (frame, duration) in zip(frames, durationsMilliseconds) {
        try writer.add(frame, channels: 4, durationMilliseconds: duration)
    }
    return try writer.finish()
}
