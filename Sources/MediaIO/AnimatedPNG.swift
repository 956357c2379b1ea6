import CMediaCodecs

// Animated PNG (APNG) writing and reading. Debian's libpng has no APNG support, so the chunks are
// assembled and taken apart here; each frame's pixels go through the ordinary libpng path.

/// CRC-32 with the PNG/zlib polynomial.
enum PNGCRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: ArraySlice<UInt8>, initial: UInt32 = 0) -> UInt32 {
        var c = ~initial
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }
}

private let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
/// The largest chunk payload written (PNG allows 2^31 - 1).
private let maxChunkPayload = 1 << 20

private func be32(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
}

private func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

private func fourCC(_ s: String) -> UInt32 {
    s.utf8.reduce(0) { $0 << 8 | UInt32($1) }
}

/// Appends one chunk (length, type, data, CRC).
private func appendChunk(_ out: inout [UInt8], _ type: UInt32, _ data: ArraySlice<UInt8>) {
    let typeBytes = be32(type)
    out += be32(UInt32(data.count))
    out += typeBytes
    out += data
    out += be32(PNGCRC32.checksum(data, initial: PNGCRC32.checksum(typeBytes[...])))
}

/// A chunk of a PNG file held in memory: its type and the range of its payload.
private struct PNGChunk {
    var type: UInt32
    var data: Range<Int>
}

/// Walks a PNG's chunks from after the signature. Stops after `IEND`, or at `stop` when it returns
/// true. Throws ``MediaError`` for a truncated file, an impossible length or (`checkCRC`) a CRC
/// mismatch in a critical or APNG chunk; ancillary chunks with a bad CRC are skipped.
private func walkChunks(_ data: [UInt8], checkCRC: Bool, _ body: (PNGChunk) throws -> Bool) throws {
    guard data.count >= 8, Array(data[0..<8]) == pngSignature else {
        throw MediaError(.invalidData, "APNG: not a PNG file")
    }
    var offset = 8
    while true {
        guard data.count - offset >= 12 else { throw MediaError(.invalidData, "APNG: truncated file (no IEND chunk)") }
        let length = Int(data[offset]) << 24 | Int(data[offset + 1]) << 16 | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
        guard length <= Int(Int32.max) else { throw MediaError(.invalidData, "APNG: invalid chunk length \(length)") }
        guard data.count - offset - 12 >= length else { throw MediaError(.invalidData, "APNG: truncated chunk") }
        let type = data[(offset + 4)..<(offset + 8)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let chunk = PNGChunk(type: type, data: (offset + 8)..<(offset + 8 + length))
        offset += 12 + length
        if checkCRC {
            let stored = data[(offset - 4)..<offset].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if PNGCRC32.checksum(data[(chunk.data.lowerBound - 4)..<chunk.data.upperBound]) != stored {
                let ancillary = type & 0x2000_0000 != 0
                let apng = type == fourCC("acTL") || type == fourCC("fcTL") || type == fourCC("fdAT")
                if ancillary && !apng { continue }
                throw MediaError(.invalidData, "APNG: CRC error in \(typeName(type)) chunk")
            }
        }
        if try body(chunk) || type == fourCC("IEND") { return }
    }
}

private func typeName(_ type: UInt32) -> String {
    String(decoding: be32(type).map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
}

private func readBE32(_ data: [UInt8], _ i: Int) -> UInt32 {
    UInt32(data[i]) << 24 | UInt32(data[i + 1]) << 16 | UInt32(data[i + 2]) << 8 | UInt32(data[i + 3])
}

private func readBE16(_ data: [UInt8], _ i: Int) -> UInt16 { UInt16(data[i]) << 8 | UInt16(data[i + 1]) }

// MARK: - Writer

/// An animated PNG (APNG) encoder. Each added frame is compressed at once (only the compressed data
/// is kept); ``finish(privateChunks:)`` assembles the file.
///
/// Every frame covers the full canvas (`dispose_op` NONE, `blend_op` SOURCE). A single frame still
/// gets an `acTL` chunk, which is a valid one-frame APNG.
public final class AnimatedPNGWriter {
    /// Canvas width in pixels.
    public let width: Int
    /// Canvas height in pixels.
    public let height: Int
    /// 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// Number of plays; 0 loops forever.
    public let loopCount: Int
    /// zlib level 0–9.
    public let compressLevel: Int
    private var header: [UInt8]?
    private var frames: [(data: [UInt8], durationMilliseconds: Int)] = []
    private var finished = false

    /// Frames added so far.
    public var frameCount: Int { frames.count }

    /// Creates an encoder.
    /// - Parameters:
    ///   - width: canvas width (1…1000000).
    ///   - height: canvas height (1…1000000).
    ///   - channels: 3 (RGB) or 4 (RGBA).
    ///   - loopCount: number of plays, 0 = forever (at most 2^31 - 1).
    ///   - compressLevel: zlib level 0–9 (ComfyUI's SaveAnimatedPNG defaults to 4).
    /// - Throws: ``MediaError`` for invalid arguments.
    public init(width: Int, height: Int, channels: Int, loopCount: Int = 0, compressLevel: Int = 4) throws {
        guard width > 0, height > 0, width <= 1_000_000, height <= 1_000_000 else {
            throw MediaError(.invalidArgument, "Invalid image size \(width)x\(height)")
        }
        guard channels == 3 || channels == 4 else {
            throw MediaError(.invalidArgument, "Unsupported channel count \(channels) (expected 3 or 4)")
        }
        guard (0...Int(Int32.max)).contains(loopCount) else {
            throw MediaError(.invalidArgument, "Invalid APNG loop count \(loopCount)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.loopCount = loopCount
        self.compressLevel = min(max(compressLevel, 0), 9)
    }

    /// Compresses one frame.
    /// - Parameters:
    ///   - pixels: `height × width × channels` interleaved 8-bit samples.
    ///   - durationMilliseconds: display time (negative values count as 0, "as fast as possible");
    ///     stored exactly up to 65535 ms, in hundredths or whole seconds beyond.
    /// - Throws: ``MediaError`` for a size mismatch, after ``finish(privateChunks:)``, or when
    ///   encoding fails.
    public func add(_ pixels: [UInt8], durationMilliseconds: Int) throws {
        try pixels.withUnsafeBufferPointer { try add($0, durationMilliseconds: durationMilliseconds) }
    }

    /// Compresses one frame from borrowed memory, like the array overload.
    public func add(_ pixels: UnsafeBufferPointer<UInt8>, durationMilliseconds: Int) throws {
        guard !finished else { throw MediaError(.invalidArgument, "The APNG writer is already finished") }
        guard pixels.count == width * height * channels, let base = pixels.baseAddress else {
            throw MediaError(.invalidArgument,
                             "Pixel buffer has \(pixels.count) bytes, expected \(width * height * channels)")
        }
        var buffer = loom_buffer()
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { e in
            loom_png_encode(base, UInt32(width), UInt32(height), UInt32(channels), Int32(compressLevel),
                            nil, nil, 0, &buffer, e.baseAddress, e.count)
        }
        defer { loom_buffer_free(&buffer) }
        guard rc == LOOM_OK, let raw = buffer.data else {
            throw mediaError(rc, err, fallback: "APNG: cannot encode frame \(frames.count)")
        }
        let png = Array(UnsafeBufferPointer(start: raw, count: buffer.size))
        var ihdr: [UInt8]?
        var compressed: [UInt8] = []
        try walkChunks(png, checkCRC: false) { chunk in
            if chunk.type == fourCC("IHDR") { ihdr = Array(png[chunk.data]) }
            if chunk.type == fourCC("IDAT") { compressed += png[chunk.data] }
            return false
        }
        guard let ihdr, !compressed.isEmpty else { throw MediaError(.invalidData, "APNG: the frame encoder gave no image data") }
        if header == nil { header = ihdr }
        frames.append((compressed, durationMilliseconds))
    }

    /// Assembles the file: signature, `IHDR`, `acTL`, per frame `fcTL` and `IDAT` (first frame) or
    /// `fdAT`, then `privateChunks`, then `IEND`. The writer takes no more frames afterwards.
    /// - Parameter privateChunks: ancillary chunks written after the image data, e.g. ComfyUI's
    ///   `comf` chunks (key, NUL, JSON). Types are 4 ASCII letters starting with a lowercase letter,
    ///   other than the APNG chunk types.
    /// - Returns: the APNG file.
    /// - Throws: ``MediaError`` when no frame was added, for an invalid chunk type, or when called twice.
    public func finish(privateChunks: [(type: String, data: [UInt8])] = []) throws -> [UInt8] {
        guard !finished else { throw MediaError(.invalidArgument, "The APNG writer is already finished") }
        guard let header, !frames.isEmpty else { throw MediaError(.invalidArgument, "APNG needs at least one frame") }
        for chunk in privateChunks {
            let bytes = Array(chunk.type.utf8)
            let letters = bytes.count == 4 && bytes.allSatisfy { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
            guard letters, (0x61...0x7A).contains(bytes[0]), !["acTL", "fcTL", "fdAT"].contains(chunk.type) else {
                throw MediaError(.invalidArgument,
                                 "Invalid private PNG chunk type '\(chunk.type)' (4 letters, the first lowercase)")
            }
            guard chunk.data.count <= Int(Int32.max) else {
                throw MediaError(.invalidArgument, "Private PNG chunk '\(chunk.type)' is too large")
            }
        }
        finished = true
        let frames = self.frames
        self.frames = []
        var out = pngSignature
        appendChunk(&out, fourCC("IHDR"), header[...])
        appendChunk(&out, fourCC("acTL"), (be32(UInt32(frames.count)) + be32(UInt32(loopCount)))[...])
        var sequence: UInt32 = 0
        for (index, frame) in frames.enumerated() {
            let (num, den) = Self.delay(frame.durationMilliseconds)
            var fctl = be32(sequence) + be32(UInt32(width)) + be32(UInt32(height)) + be32(0) + be32(0)
            fctl += be16(num) + be16(den) + [0, 0] // dispose_op NONE, blend_op SOURCE
            appendChunk(&out, fourCC("fcTL"), fctl[...])
            sequence += 1
            for start in stride(from: 0, to: frame.data.count, by: maxChunkPayload) {
                let piece = frame.data[start..<min(start + maxChunkPayload, frame.data.count)]
                if index == 0 {
                    appendChunk(&out, fourCC("IDAT"), piece)
                } else {
                    appendChunk(&out, fourCC("fdAT"), (be32(sequence) + piece)[...])
                    sequence += 1
                }
            }
        }
        for chunk in privateChunks { appendChunk(&out, fourCC(chunk.type), chunk.data[...]) }
        appendChunk(&out, fourCC("IEND"), [])
        return out
    }

    /// `delay_num / delay_den` seconds for a duration in milliseconds.
    static func delay(_ milliseconds: Int) -> (UInt16, UInt16) {
        let ms = max(0, milliseconds)
        if ms <= 65535 { return (UInt16(ms), 1000) }
        if (ms + 5) / 10 <= 65535 { return (UInt16((ms + 5) / 10), 100) }
        return (UInt16(min(65535, (ms + 500) / 1000)), 1)
    }
}

// MARK: - Reader

/// Whether a PNG file is animated: it has an `acTL` chunk before its first `IDAT`.
func isAnimatedPNG(_ data: [UInt8]) -> Bool {
    var found = false
    try? walkChunks(data, checkCRC: false) { chunk in
        if chunk.type == fourCC("acTL") { found = true }
        return found || chunk.type == fourCC("IDAT")
    }
    return found
}

/// One frame's control chunk.
private struct FrameControl {
    var width: Int
    var height: Int
    var x: Int
    var y: Int
    var durationMilliseconds: Int
    var dispose: UInt8
    var blend: UInt8
    var data: [Range<Int>] = []
    var fromIDAT = false
}

private let disposeNone: UInt8 = 0, disposeBackground: UInt8 = 1, disposePrevious: UInt8 = 2
private let blendSource: UInt8 = 0

/// Decodes an APNG into full-canvas RGBA frames, compositing each frame's region with its
/// `dispose_op` and `blend_op`. A default image outside the animation is skipped.
/// - Throws: ``MediaError`` for malformed or truncated files and for files over `maxPixels`.
func decodeAnimatedPNG(_ data: [UInt8], maxPixels: Int, keep16Bit: Bool) throws -> DecodedImageFile {
    var ihdr: [UInt8]?
    var canvasWidth = 0, canvasHeight = 0
    var declaredFrames: Int?
    var plays = 0
    var shared: [PNGChunk] = []      // PLTE, tRNS and colour chunks every frame needs
    var text: [PNGChunk] = []        // tEXt, zTXt, iTXt
    var privateChunks: [TextChunk] = []
    var frames: [FrameControl] = []
    var sequence: UInt32 = 0
    var sawIDAT = false, sawFDAT = false, idatEnded = false, previousWasIDAT = false
    let sharedTypes = Set(["PLTE", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT"].map(fourCC))
    let textTypes = Set(["tEXt", "zTXt", "iTXt"].map(fourCC))

    func checkSequence(_ chunk: PNGChunk, _ name: String) throws {
        guard chunk.data.count >= 4 else { throw MediaError(.invalidData, "APNG: \(name) chunk too short") }
        let number = readBE32(data, chunk.data.lowerBound)
        guard number == sequence else {
            throw MediaError(.invalidData, "APNG: \(name) sequence number \(number), expected \(sequence)")
        }
        sequence += 1
    }

    try walkChunks(data, checkCRC: true) { chunk in
        let type = chunk.type
        defer { previousWasIDAT = type == fourCC("IDAT") }
        if ihdr == nil {
            guard type == fourCC("IHDR"), chunk.data.count == 13 else {
                throw MediaError(.invalidData, "APNG: the first chunk is not a valid IHDR")
            }
            ihdr = Array(data[chunk.data])
            canvasWidth = Int(readBE32(data, chunk.data.lowerBound))
            canvasHeight = Int(readBE32(data, chunk.data.lowerBound + 4))
            return false
        }
        switch type {
        case fourCC("acTL"):
            guard !sawIDAT, declaredFrames == nil, chunk.data.count == 8 else {
                throw MediaError(.invalidData, "APNG: misplaced or invalid acTL chunk")
            }
            let count = Int(readBE32(data, chunk.data.lowerBound))
            plays = Int(readBE32(data, chunk.data.lowerBound + 4))
            guard count > 0, count <= Int(Int32.max), plays <= Int(Int32.max) else {
                throw MediaError(.invalidData, "APNG: invalid acTL chunk (\(count) frames)")
            }
            // Refuse absurd frame counts before reading any frame.
            let pixels = canvasWidth.multipliedReportingOverflow(by: canvasHeight)
            let total = pixels.partialValue.multipliedReportingOverflow(by: count)
            if count > 1_000_000 || pixels.overflow || total.overflow || total.partialValue > maxPixels {
                throw MediaError(.tooLarge, "APNG too large: \(canvasWidth)x\(canvasHeight) x \(count) frame(s) exceeds the limit of \(maxPixels) pixels")
            }
            declaredFrames = count
        case fourCC("fcTL"):
            try checkSequence(chunk, "fcTL")
            guard chunk.data.count == 26 else { throw MediaError(.invalidData, "APNG: invalid fcTL chunk") }
            if let last = frames.last, last.data.isEmpty {
                throw MediaError(.invalidData, "APNG: frame \(frames.count - 1) has no image data")
            }
            let s = chunk.data.lowerBound
            let num = Int(readBE16(data, s + 20)), den = Int(readBE16(data, s + 22))
            let divisor = den == 0 ? 100 : den
            frames.append(FrameControl(
                width: Int(readBE32(data, s + 4)), height: Int(readBE32(data, s + 8)),
                x: Int(readBE32(data, s + 12)), y: Int(readBE32(data, s + 16)),
                durationMilliseconds: (num * 1000 + divisor / 2) / divisor,
                dispose: data[s + 24], blend: data[s + 25]))
            guard frames.count <= declaredFrames ?? 0 else {
                throw MediaError(.invalidData, "APNG: more frames than the \(declaredFrames ?? 0) declared in acTL")
            }
        case fourCC("IDAT"):
            guard !idatEnded || previousWasIDAT, !sawFDAT else {
                throw MediaError(.invalidData, "APNG: IDAT chunks are not consecutive")
            }
            sawIDAT = true
            idatEnded = true
            // IDAT belongs to the animation only when an fcTL came before it.
            if frames.count == 1 {
                frames[0].data.append(chunk.data)
                frames[0].fromIDAT = true
            } else if !frames.isEmpty {
                throw MediaError(.invalidData, "APNG: IDAT after the second frame")
            }
        case fourCC("fdAT"):
            try checkSequence(chunk, "fdAT")
            guard sawIDAT, !frames.isEmpty, !frames[frames.count - 1].fromIDAT else {
                throw MediaError(.invalidData, "APNG: fdAT chunk without a frame to belong to")
            }
            sawFDAT = true
            frames[frames.count - 1].data.append((chunk.data.lowerBound + 4)..<chunk.data.upperBound)
        case let t where textTypes.contains(t):
            text.append(chunk)
        case fourCC("comf"):
            let payload = data[chunk.data]
            let nul = payload.firstIndex(of: 0) ?? payload.endIndex
            let value = nul < payload.endIndex ? payload[(nul + 1)...] : []
            privateChunks.append(TextChunk(latin1OrUTF8(payload[..<nul]), latin1OrUTF8(value)))
        case let t where sharedTypes.contains(t):
            if !sawIDAT { shared.append(chunk) }
        default:
            break
        }
        return false
    }

    guard let ihdr, let declaredFrames else { throw MediaError(.invalidData, "APNG: missing IHDR or acTL chunk") }
    guard sawIDAT else { throw MediaError(.invalidData, "APNG: no IDAT chunk") }
    guard frames.count == declaredFrames, let last = frames.last, !last.data.isEmpty else {
        throw MediaError(.invalidData, "APNG: acTL declares \(declaredFrames) frame(s) but the file holds \(frames.count)")
    }
    for (i, f) in frames.enumerated() {
        guard f.width > 0, f.height > 0, f.x + f.width <= canvasWidth, f.y + f.height <= canvasHeight else {
            throw MediaError(.invalidData, "APNG: frame \(i) region \(f.width)x\(f.height)+\(f.x)+\(f.y) is outside the \(canvasWidth)x\(canvasHeight) canvas")
        }
        guard f.dispose <= disposePrevious, f.blend <= 1 else {
            throw MediaError(.invalidData, "APNG: frame \(i) has an invalid dispose or blend operation")
        }
        if f.fromIDAT && (f.width != canvasWidth || f.height != canvasHeight) {
            throw MediaError(.invalidData, "APNG: the IDAT frame does not cover the canvas")
        }
    }

    // Decode each frame as a standalone PNG through libpng.
    var decoded: [DecodedImage] = []
    var textChunks: [TextChunk] = []
    for (i, f) in frames.enumerated() {
        var png = pngSignature
        appendChunk(&png, fourCC("IHDR"), (be32(UInt32(f.width)) + be32(UInt32(f.height)) + ihdr[8..<13])[...])
        for chunk in shared { appendChunk(&png, chunk.type, data[chunk.data]) }
        let payload = f.data.reduce(into: [UInt8]()) { $0 += data[$1] }
        appendChunk(&png, fourCC("IDAT"), payload[...])
        if i == 0 { for chunk in text { appendChunk(&png, chunk.type, data[chunk.data]) } }
        appendChunk(&png, fourCC("IEND"), [])
        do {
            let file = try decodeImageFile(png, maxPixels: maxPixels, keep16Bit: keep16Bit, applyOrientation: false)
            guard let image = file.frames.first, file.frames.count == 1 else {
                throw MediaError(.invalidData, "APNG: frame \(i) did not decode to one image")
            }
            decoded.append(image)
            if i == 0 { textChunks = file.textChunks }
        } catch let error as MediaError {
            throw MediaError(error.code, "APNG frame \(i): \(error.message)")
        }
    }

    let alpha = decoded.first?.alpha ?? .none
    var output: [DecodedImage]
    if case .uint16 = decoded.first?.samples {
        let rendered = try composite(frames, decoded, width: canvasWidth, height: canvasHeight) { image -> [UInt16] in
            if case .uint16(let s) = image.samples { return s }
            throw MediaError(.invalidData, "APNG: frames have different bit depths")
        }
        output = rendered.map { DecodedImage(width: canvasWidth, height: canvasHeight, channels: 4, samples: .uint16($0.0),
                                             alpha: alpha, durationMilliseconds: $0.1) }
    } else {
        let rendered = try composite(frames, decoded, width: canvasWidth, height: canvasHeight) { image -> [UInt8] in
            if case .uint8(let s) = image.samples { return s }
            throw MediaError(.invalidData, "APNG: frames have different bit depths")
        }
        output = rendered.map { DecodedImage(width: canvasWidth, height: canvasHeight, channels: 4, samples: .uint8($0.0),
                                             alpha: alpha, durationMilliseconds: $0.1) }
    }
    // Regions that leave the canvas uncovered make an opaque image transparent there.
    if alpha == .none && output.contains(where: { !isOpaque($0.samples) }) {
        for i in output.indices { output[i].alpha = .channel }
    }
    return DecodedImageFile(codec: .png, frames: output, textChunks: textChunks, loopCount: plays,
                            privateChunks: privateChunks)
}

private func isOpaque(_ samples: DecodedImage.Samples) -> Bool {
    switch samples {
    case .uint8(let s): return stride(from: 3, to: s.count, by: 4).allSatisfy { s[$0] == UInt8.max }
    case .uint16(let s): return stride(from: 3, to: s.count, by: 4).allSatisfy { s[$0] == UInt16.max }
    }
}

private func latin1OrUTF8(_ bytes: ArraySlice<UInt8>) -> String {
    String(validating: bytes, as: UTF8.self) ?? String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
}

/// Renders the frames onto an RGBA canvas (initially transparent black) as the APNG spec says.
private func composite<T: FixedWidthInteger & UnsignedInteger>(
    _ controls: [FrameControl], _ images: [DecodedImage], width: Int, height: Int,
    samples: (DecodedImage) throws -> [T]
) throws -> [([T], Int)] {
    var canvas = [T](repeating: 0, count: width * height * 4)
    var result: [([T], Int)] = []
    result.reserveCapacity(controls.count)
    let maxValue = Int(T.max)
    for (i, (f, image)) in zip(controls, images).enumerated() {
        let src = try samples(image)
        guard image.width == f.width, image.height == f.height, image.channels == 4, src.count == f.width * f.height * 4 else {
            throw MediaError(.invalidData, "APNG: frame \(i) decoded to an unexpected size")
        }
        // The first frame's PREVIOUS disposal means BACKGROUND; blending onto the cleared canvas is SOURCE.
        let dispose = i == 0 && f.dispose == disposePrevious ? disposeBackground : f.dispose
        let blendOver = i > 0 && f.blend != blendSource
        let rowCount = f.width * 4
        var saved: [T] = []
        canvas.withUnsafeMutableBufferPointer { dst in
            src.withUnsafeBufferPointer { s in
                if dispose == disposePrevious {
                    saved.reserveCapacity(rowCount * f.height)
                    for y in 0..<f.height {
                        let row = ((f.y + y) * width + f.x) * 4
                        saved.append(contentsOf: dst[row..<(row + rowCount)])
                    }
                }
                for y in 0..<f.height {
                    let d0 = ((f.y + y) * width + f.x) * 4, s0 = y * rowCount
                    if !blendOver {
                        for k in 0..<rowCount { dst[d0 + k] = s[s0 + k] }
                        continue
                    }
                    for p in stride(from: 0, to: rowCount, by: 4) {
                        let sa = Int(s[s0 + p + 3])
                        if sa == maxValue {
                            for c in 0..<4 { dst[d0 + p + c] = s[s0 + p + c] }
                        } else if sa > 0 {
                            // Non-premultiplied "over": weights in units of maxValue^2.
                            let da = Int(dst[d0 + p + 3])
                            let u = sa * maxValue, v = (maxValue - sa) * da, total = u + v
                            for c in 0..<3 {
                                let mixed = (Int(s[s0 + p + c]) * u + Int(dst[d0 + p + c]) * v + total / 2) / total
                                dst[d0 + p + c] = T(mixed)
                            }
                            dst[d0 + p + 3] = T((total + maxValue / 2) / maxValue)
                        }
                    }
                }
            }
        }
        result.append((canvas, f.durationMilliseconds))
        switch dispose {
        case disposeBackground:
            for y in 0..<f.height {
                let row = ((f.y + y) * width + f.x) * 4
                for k in row..<(row + rowCount) { canvas[k] = 0 }
            }
        case disposePrevious:
            for y in 0..<f.height {
                let row = ((f.y + y) * width + f.x) * 4
                canvas.replaceSubrange(row..<(row + rowCount), with: saved[(y * rowCount)..<((y + 1) * rowCount)])
            }
        default:
            break
        }
    }
    return result
}
