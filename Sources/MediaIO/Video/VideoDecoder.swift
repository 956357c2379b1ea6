import Foundation

/// Reads a video's frames one at a time from an `ffmpeg` process
/// (`ffmpeg -i PATH -map 0:v:0 -f rawvideo -pix_fmt F -`), so callers can copy each frame straight into
/// their own storage (a tensor) without a second copy of the video.
///
/// Frames come out at ``frameWidth`` × ``frameHeight`` (the display size: ffmpeg applies the stream's
/// rotation) in ``pixelFormat``. The process is stopped by ``close()`` or when the decoder is released.
public final class VideoDecoder {
    /// What ffprobe reported about the file.
    public let info: VideoInfo
    /// Layout of the frames returned.
    public let pixelFormat: RawPixelFormat
    /// Width of returned frames.
    public let frameWidth: Int
    /// Height of returned frames.
    public let frameHeight: Int
    /// Bytes in one frame: width × height × bytes per pixel.
    public let frameByteCount: Int
    /// Frames returned so far.
    public private(set) var framesRead = 0

    private let path: String
    private var tool: ToolProcess?
    private var ended = false

    /// Probes the file (unless `info` is given) and starts ffmpeg.
    /// - Parameters:
    ///   - tools: the ffmpeg/ffprobe locations.
    ///   - path: the video file.
    ///   - pixelFormat: the layout to convert frames to (ffmpeg's default scaler converts from YUV).
    ///   - info: the result of an earlier ``probeVideo(tools:path:countFrames:)`` of the same file.
    /// - Throws: ``MediaError`` from probing, or `.toolMissing` when ffmpeg cannot be started.
    public init(tools: FFmpegTools, path: String, pixelFormat: RawPixelFormat = .rgb24, info: VideoInfo? = nil) throws {
        let info = try info ?? probeVideo(tools: tools, path: path)
        self.info = info
        self.path = path
        self.pixelFormat = pixelFormat
        frameWidth = info.displayWidth
        frameHeight = info.displayHeight
        let (bytes, overflow) = frameWidth.multipliedReportingOverflow(by: frameHeight * pixelFormat.bytesPerPixel)
        guard !overflow, bytes > 0 else {
            throw MediaError(.tooLarge, "\(path): video frames of \(frameWidth)x\(frameHeight) are too large")
        }
        frameByteCount = bytes
        let arguments = ["-hide_banner", "-nostdin", "-nostats", "-v", "error", "-i", fileURLArgument(path),
                         "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", pixelFormat.rawValue, "-"]
        tool = try ToolProcess(executable: tools.ffmpeg, arguments: arguments, feedStdin: false, readStdout: true)
    }

    /// Reads the next frame into `buffer` (exactly ``frameByteCount`` bytes).
    /// - Returns: `false` at the end of the video.
    /// - Throws: ``MediaError``: `.invalidArgument` for a wrong buffer size, `.invalidData` for a truncated frame,
    ///   `.toolFailed` with ffmpeg's message when decoding failed.
    public func readFrame(into buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        guard buffer.count == frameByteCount else {
            throw MediaError(.invalidArgument, "Frame buffer has \(buffer.count) bytes, expected \(frameByteCount)")
        }
        guard !ended, let tool else { return false }
        let n: Int
        do {
            n = try tool.read(into: buffer)
        } catch {
            close()
            throw error
        }
        if n == frameByteCount {
            framesRead += 1
            return true
        }
        ended = true
        let result = tool.wait()
        self.tool = nil
        if let error = ToolProcess.failure(name: tool.name, action: "decoding \(path)", result) { throw error }
        if n != 0 {
            throw MediaError(.invalidData, "\(path): the last video frame is truncated (\(n) of \(frameByteCount) bytes)")
        }
        return false
    }

    /// Reads the next frame into a new array, or returns nil at the end of the video.
    /// - Throws: see ``readFrame(into:)``.
    public func readFrame() throws -> [UInt8]? {
        var frame = [UInt8](repeating: 0, count: frameByteCount)
        let more = try frame.withUnsafeMutableBytes { try readFrame(into: $0) }
        return more ? frame : nil
    }

    /// Stops ffmpeg (if still running) without reading further frames.
    public func close() {
        ended = true
        if let tool {
            tool.kill()
            tool.wait()
        }
        tool = nil
    }

    deinit {
        close()
    }
}

/// Which frames ``decodeVideoFrames(tools:path:pixelFormat:maxPixels:selection:each:)`` delivers.
public struct VideoFrameSelection: Sendable, Equatable {
    /// Frames to skip at the start.
    public var skipFirst: Int
    /// Deliver every n-th frame after the skipped ones (1 = all).
    public var everyNth: Int
    /// Stop after delivering this many frames (nil = no limit).
    public var limit: Int?

    public init(skipFirst: Int = 0, everyNth: Int = 1, limit: Int? = nil) {
        self.skipFirst = skipFirst
        self.everyNth = everyNth
        self.limit = limit
    }

    /// How many of `total` frames are delivered.
    public func deliveredCount(of total: Int) -> Int {
        let available = max(0, total - skipFirst)
        let picked = (available + everyNth - 1) / max(1, everyNth)
        return limit.map { min($0, picked) } ?? picked
    }
}

/// Decodes a video's frames and hands each one to `each` while it is in a reused buffer.
///
/// When the container stores the frame count, a video whose delivered frames would exceed `maxPixels` is
/// refused before any frame is read; otherwise decoding stops with `.tooLarge` as soon as the limit is passed.
/// - Parameters:
///   - tools: the ffmpeg/ffprobe locations.
///   - path: the video file.
///   - pixelFormat: the layout of delivered frames.
///   - maxPixels: limit on width × height × delivered frames.
///   - selection: frames to skip, keep and stop after.
///   - info: an earlier probe of the same file (probed here otherwise).
///   - each: called with each delivered frame (valid only during the call) and its index among delivered frames.
/// - Returns: the probe result and the number of frames delivered.
/// - Throws: ``MediaError`` (`.tooLarge`, `.invalidData`, `.toolFailed`, …) or whatever `each` throws.
@discardableResult
public func decodeVideoFrames(tools: FFmpegTools, path: String, pixelFormat: RawPixelFormat = .rgb24,
                              maxPixels: Int = defaultMaxDecodedPixels, selection: VideoFrameSelection = VideoFrameSelection(),
                              info: VideoInfo? = nil,
                              each: (_ frame: UnsafeRawBufferPointer, _ index: Int) throws -> Void) throws
    -> (info: VideoInfo, frames: Int) {
    guard selection.skipFirst >= 0, selection.everyNth >= 1, (selection.limit ?? 0) >= 0 else {
        throw MediaError(.invalidArgument, "Invalid frame selection (skip \(selection.skipFirst), every "
                         + "\(selection.everyNth), limit \(selection.limit.map(String.init) ?? "none"))")
    }
    let info = try info ?? probeVideo(tools: tools, path: path)
    let framePixels = info.displayWidth * info.displayHeight
    if let total = info.frameCount {
        let delivered = selection.deliveredCount(of: total)
        let (pixels, overflow) = framePixels.multipliedReportingOverflow(by: delivered)
        if overflow || pixels > maxPixels {
            throw MediaError(.tooLarge, "\(path): \(delivered) frames of \(info.displayWidth)x\(info.displayHeight) exceed "
                             + "the limit of \(maxPixels) pixels")
        }
    }
    if selection.limit == 0 { return (info, 0) }
    let decoder = try VideoDecoder(tools: tools, path: path, pixelFormat: pixelFormat, info: info)
    defer { decoder.close() }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: decoder.frameByteCount, alignment: 16)
    defer { buffer.deallocate() }
    var delivered = 0
    var index = 0
    while try decoder.readFrame(into: buffer) {
        defer { index += 1 }
        guard index >= selection.skipFirst, (index - selection.skipFirst) % selection.everyNth == 0 else { continue }
        if framePixels * (delivered + 1) > maxPixels {
            throw MediaError(.tooLarge, "\(path): more than \(delivered) frames of \(info.displayWidth)x"
                             + "\(info.displayHeight) exceed the limit of \(maxPixels) pixels")
        }
        try each(UnsafeRawBufferPointer(buffer), delivered)
        delivered += 1
        if let limit = selection.limit, delivered >= limit { break }
    }
    return (info, delivered)
}

/// Decodes a file's first audio stream to interleaved 32-bit floats at its own rate and channel count
/// (`ffmpeg -i PATH -map 0:a:0 -f f32le -ac C -ar R -`).
/// - Parameters:
///   - tools: the ffmpeg/ffprobe locations.
///   - path: the media file.
///   - maxSamples: refuse audio with more interleaved samples than this (default: 2^30, about 3 hours of
///     48 kHz stereo).
/// - Returns: the clip, or nil when the file has no audio stream.
/// - Throws: ``MediaError`` for unreadable files, oversize audio or ffmpeg failures.
public func decodeAudio(tools: FFmpegTools, path: String, maxSamples: Int = 1 << 30) throws -> AudioClip? {
    let info = try probeMedia(tools: tools, path: path)
    guard let audio = info else { return nil }
    #if _endian(little)
    let sampleFormat = "f32le"
    #else
    let sampleFormat = "f32be"
    #endif
    let arguments = ["-hide_banner", "-nostdin", "-nostats", "-v", "error", "-i", fileURLArgument(path),
                     "-map", "0:a:0", "-f", sampleFormat, "-ac", "\(audio.channels)", "-ar", "\(audio.sampleRate)", "-"]
    let tool = try ToolProcess(executable: tools.ffmpeg, arguments: arguments, feedStdin: false, readStdout: true)
    let bytes: [UInt8]
    do {
        let (limit, overflow) = maxSamples.multipliedReportingOverflow(by: 4)
        bytes = try tool.readToEnd(limit: overflow ? Int.max : limit)
    } catch {
        tool.kill()
        tool.wait()
        throw error
    }
    try tool.waitForSuccess("decoding the audio of \(path)")
    var samples = [Float](repeating: 0, count: bytes.count / 4)
    samples.withUnsafeMutableBytes { destination in
        bytes.withUnsafeBytes { source in
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<destination.count]))
        }
    }
    let whole = samples.count - samples.count % audio.channels
    if whole != samples.count { samples.removeLast(samples.count - whole) }
    return AudioClip(samples: samples, channels: audio.channels, sampleRate: audio.sampleRate)
}

/// The first audio stream of any media file (video or audio-only), or nil when there is none.
private func probeMedia(tools: FFmpegTools, path: String) throws -> AudioStreamInfo? {
    guard FileManager.default.fileExists(atPath: path) else {
        throw MediaError(.invalidArgument, "Media file \(path) does not exist")
    }
    let arguments = ["-hide_banner", "-v", "error", "-print_format", "json", "-show_streams",
                     "-select_streams", "a:0", "-i", fileURLArgument(path)]
    let tool = try ToolProcess(executable: tools.ffprobe, arguments: arguments, feedStdin: false, readStdout: true)
    let output = try tool.readToEnd(limit: 64 << 20)
    let result = tool.wait()
    if result.signaled || result.status != 0 {
        throw MediaError(.invalidData, "Cannot read media \(path): \(result.stderr.isEmpty ? "exit status \(result.status)" : result.stderr)")
    }
    guard let root = (try? JSONSerialization.jsonObject(with: Data(output))) as? [String: Any] else {
        throw MediaError(.invalidData, "Cannot read media \(path): ffprobe's output is not JSON")
    }
    guard let stream = (root["streams"] as? [[String: Any]])?.first else { return nil }
    let sampleRate = (stream["sample_rate"] as? String).flatMap { Int($0) } ?? (stream["sample_rate"] as? Int)
    let channels = stream["channels"] as? Int
    guard let sampleRate, let channels, sampleRate > 0, channels > 0 else {
        throw MediaError(.invalidData, "\(path): the audio stream has no valid sample rate or channel count")
    }
    return AudioStreamInfo(sampleRate: sampleRate, channels: channels,
                           codecName: stream["codec_name"] as? String ?? "unknown")
}
