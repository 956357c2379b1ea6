import CMediaCodecs

/// A streaming animated WEBP encoder over libwebpmux's `WebPAnimEncoder`.
///
/// Frames are encoded as they are added, so no packed copy of all frames exists. Call
/// ``finish(exif:)`` once to get the file; the writer takes no more frames afterwards.
/// libwebp may merge a frame identical to the previous one into it (extending its duration).
public final class AnimatedWEBPWriter {
    /// Canvas width in pixels.
    public let width: Int
    /// Canvas height in pixels.
    public let height: Int
    /// Frames added so far.
    public private(set) var frameCount = 0
    private var writer: OpaquePointer?

    /// Creates an encoder.
    /// - Parameters:
    ///   - width: canvas width (1…16383).
    ///   - height: canvas height (1…16383).
    ///   - loopCount: 0 loops forever (at most 65535).
    ///   - quality: 0–100 for lossy frames.
    ///   - lossless: encode frames losslessly (quality then trades speed for size).
    ///   - method: libwebp effort 0 (fastest) … 6 (slowest); ComfyUI's "default" is 4.
    /// - Throws: ``MediaError`` for invalid sizes or when the encoder cannot be created.
    public init(width: Int, height: Int, loopCount: Int = 0, quality: Int = 80, lossless: Bool = false,
                method: Int = 4) throws {
        guard width > 0, height > 0, width <= 1_000_000, height <= 1_000_000 else {
            throw MediaError(.invalidArgument, "Invalid image size \(width)x\(height)")
        }
        self.width = width
        self.height = height
        var handle: OpaquePointer?
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { e in
            loom_webp_anim_writer_new(UInt32(width), UInt32(height), UInt32(clamping: max(0, loopCount)),
                                      Float(min(max(quality, 0), 100)), lossless ? 1 : 0,
                                      Int32(clamping: method), &handle, e.baseAddress, e.count)
        }
        guard rc == LOOM_OK, let handle else { throw mediaError(rc, err, fallback: "Cannot create WEBP encoder") }
        writer = handle
    }

    deinit {
        loom_webp_anim_writer_free(writer)
    }

    /// Encodes one frame.
    /// - Parameters:
    ///   - pixels: `height × width × channels` interleaved 8-bit samples.
    ///   - channels: 3 (RGB) or 4 (RGBA).
    ///   - durationMilliseconds: display time; values under 1 ms are stored as 1 ms.
    /// - Throws: ``MediaError`` for a wrong size or channel count, after ``finish(exif:)``, or when
    ///   libwebp fails.
    public func add(_ pixels: [UInt8], channels: Int, durationMilliseconds: Int) throws {
        try pixels.withUnsafeBufferPointer { try add($0, channels: channels, durationMilliseconds: durationMilliseconds) }
    }

    /// Encodes one frame from borrowed memory; like the array overload.
    public func add(_ pixels: UnsafeBufferPointer<UInt8>, channels: Int, durationMilliseconds: Int) throws {
        guard let writer else { throw MediaError(.invalidArgument, "The animated WEBP writer is already finished") }
        guard channels == 3 || channels == 4 else {
            throw MediaError(.invalidArgument, "Unsupported channel count \(channels) (expected 3 or 4)")
        }
        guard pixels.count == width * height * channels, let base = pixels.baseAddress else {
            throw MediaError(.invalidArgument,
                             "Pixel buffer has \(pixels.count) bytes, expected \(width * height * channels)")
        }
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { e in
            loom_webp_anim_writer_add(writer, base, UInt32(channels), Int32(clamping: durationMilliseconds),
                                      e.baseAddress, e.count)
        }
        guard rc == LOOM_OK else { throw mediaError(rc, err, fallback: "Cannot encode WEBP frame \(frameCount)") }
        frameCount += 1
    }

    /// Ends the animation and returns the file.
    /// - Parameter exif: a TIFF structure (see ``ExifASCII/tiff(_:)``) stored as the file's `EXIF` chunk,
    ///   with the VP8X EXIF flag set; `nil` or empty for none.
    /// - Returns: the animated WEBP file.
    /// - Throws: ``MediaError`` when no frame was added, when called twice, or when assembling fails.
    public func finish(exif: [UInt8]? = nil) throws -> [UInt8] {
        guard let writer else { throw MediaError(.invalidArgument, "The animated WEBP writer is already finished") }
        guard frameCount > 0 else { throw MediaError(.invalidArgument, "Animated WEBP needs at least one frame") }
        var buffer = loom_buffer()
        var err = [CChar](repeating: 0, count: 512)
        let metadata = exif ?? []
        let rc = metadata.withUnsafeBufferPointer { x in
            err.withUnsafeMutableBufferPointer { e in
                loom_webp_anim_writer_finish(writer, x.baseAddress, x.count, &buffer, e.baseAddress, e.count)
            }
        }
        // The C encoder is spent whatever the outcome.
        loom_webp_anim_writer_free(writer)
        self.writer = nil
        defer { loom_buffer_free(&buffer) }
        guard rc == LOOM_OK, let data = buffer.data else {
            throw mediaError(rc, err, fallback: "Cannot assemble the animated WEBP")
        }
        return Array(UnsafeBufferPointer(start: data, count: buffer.size))
    }
}

/// The payload of a WEBP file's `EXIF` chunk (for files written by ``AnimatedWEBPWriter`` with
/// metadata, a bare little-endian TIFF structure), or `nil` when the file has none or is not a
/// well-formed RIFF/WEBP container.
public func webpEXIF(_ file: [UInt8]) -> [UInt8]? {
    guard file.count >= 12, Array(file[0..<4]) == Array("RIFF".utf8), Array(file[8..<12]) == Array("WEBP".utf8) else {
        return nil
    }
    func le32(_ i: Int) -> Int {
        Int(file[i]) | Int(file[i + 1]) << 8 | Int(file[i + 2]) << 16 | Int(file[i + 3]) << 24
    }
    // The RIFF size covers everything after its own field; tolerate files shorter or longer than it says.
    let end = min(file.count, 8 + le32(4))
    var offset = 12
    while offset + 8 <= end {
        let size = le32(offset + 4)
        let start = offset + 8
        guard size <= end - start else { return nil }
        if Array(file[offset..<(offset + 4)]) == Array("EXIF".utf8) { return Array(file[start..<(start + size)]) }
        offset = start + size + (size & 1)
    }
    return nil
}
