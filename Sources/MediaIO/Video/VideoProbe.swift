import Foundation

/// The audio stream of a media file, as ffprobe reports it.
public struct AudioStreamInfo: Sendable, Equatable {
    /// Sample frames per second.
    public var sampleRate: Int
    /// Number of channels.
    public var channels: Int
    /// ffmpeg's codec name (`aac`, `opus`, `pcm_f32le`, …).
    public var codecName: String
    /// Stream duration in seconds, when known.
    public var duration: Double?

    public init(sampleRate: Int, channels: Int, codecName: String, duration: Double? = nil) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.codecName = codecName
        self.duration = duration
    }
}

/// What ffprobe reports about a video file's first video stream and its container.
public struct VideoInfo: Sendable {
    /// Coded width in pixels.
    public var width: Int
    /// Coded height in pixels.
    public var height: Int
    /// Display rotation in degrees (0, 90, 180, 270, counter-clockwise) from the stream's display matrix;
    /// ffmpeg applies it when decoding, so decoded frames are ``displayWidth`` × ``displayHeight``.
    public var rotation: Int
    /// Frames per second: the average frame rate, or the base rate `r_frame_rate` when that is unknown.
    public var frameRate: Double
    /// ``frameRate`` as the fraction ffprobe gives (`(24000, 1001)`); `(0, 1)` when unknown.
    public var frameRateFraction: (numerator: Int, denominator: Int)
    /// Number of frames from the container (`nb_frames`), or counted by decoding when the probe was asked
    /// to count; nil when neither is known (e.g. Matroska/WebM without counting).
    public var frameCount: Int?
    /// ffmpeg's codec name (`h264`, `hevc`, `vp9`, `ffv1`, `gif`, …).
    public var codecName: String
    /// ffmpeg's pixel format name (`yuv420p`, …), when known.
    public var pixelFormat: String?
    /// Duration in seconds (container duration, else the stream's), when known.
    public var duration: Double?
    /// ffmpeg's container name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `gif`, …).
    public var formatName: String
    /// Container-level tags (key → value). Matroska/WebM report keys in upper case (`PROMPT`); use
    /// ``tag(_:)`` for a case-insensitive lookup.
    public var tags: [String: String]
    /// The first audio stream, if any.
    public var audio: AudioStreamInfo?

    /// Width of decoded frames (coded width, swapped with height for 90° and 270° rotations).
    public var displayWidth: Int { rotation % 180 == 0 ? width : height }
    /// Height of decoded frames (coded height, swapped with width for 90° and 270° rotations).
    public var displayHeight: Int { rotation % 180 == 0 ? height : width }

    /// The tag named `key`, matched case-insensitively when no exact match exists.
    public func tag(_ key: String) -> String? {
        if let value = tags[key] { return value }
        let lower = key.lowercased()
        return tags.first { $0.key.lowercased() == lower }?.value
    }
}

/// Reads a video file's properties with `ffprobe -print_format json -show_format -show_streams`.
/// - Parameters:
///   - tools: the ffmpeg/ffprobe locations.
///   - path: the file.
///   - countFrames: decode the whole file to count frames (`-count_frames`) when the container does not
///     store the count; slow for long videos.
/// - Throws: ``MediaError``: `.invalidArgument` for a missing file, `.invalidData` for files ffprobe cannot read
///   or without a video stream, `.toolMissing` when ffprobe cannot be started.
public func probeVideo(tools: FFmpegTools, path: String, countFrames: Bool = false) throws -> VideoInfo {
    guard FileManager.default.fileExists(atPath: path) else {
        throw MediaError(.invalidArgument, "Video file \(path) does not exist")
    }
    var arguments = ["-hide_banner", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    if countFrames { arguments.append("-count_frames") }
    arguments += ["-i", fileURLArgument(path)]
    let tool = try ToolProcess(executable: tools.ffprobe, arguments: arguments, feedStdin: false, readStdout: true)
    let output: [UInt8]
    do {
        output = try tool.readToEnd(limit: 1 << 30)
    } catch {
        tool.kill()
        tool.wait()
        throw error
    }
    let result = tool.wait()
    if result.signaled || result.status != 0 {
        let detail = result.stderr.isEmpty ? "exit status \(result.status)" : result.stderr
        throw MediaError(.invalidData, "Cannot read video \(path): \(detail)")
    }
    return try parseProbeOutput(output, path: path, counted: countFrames)
}

/// Builds a ``VideoInfo`` from ffprobe's JSON.
func parseProbeOutput(_ json: [UInt8], path: String, counted: Bool) throws -> VideoInfo {
    guard let root = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any] else {
        throw MediaError(.invalidData, "Cannot read video \(path): ffprobe's output is not JSON")
    }
    let streams = root["streams"] as? [[String: Any]] ?? []
    let format = root["format"] as? [String: Any] ?? [:]
    // Cover art in MP4/Matroska is a one-frame "video" stream flagged attached_pic; skip it.
    let isAttachedPicture: ([String: Any]) -> Bool = { stream in
        ((stream["disposition"] as? [String: Any])?["attached_pic"] as? Int ?? 0) != 0
    }
    guard let video = streams.first(where: { $0["codec_type"] as? String == "video" && !isAttachedPicture($0) }) else {
        throw MediaError(.invalidData, "\(path) has no video stream")
    }
    guard let width = int(video["width"]), let height = int(video["height"]), width > 0, height > 0 else {
        throw MediaError(.invalidData, "\(path): the video stream has no valid size")
    }
    var fraction = rational(video["avg_frame_rate"])
    if fraction == nil { fraction = rational(video["r_frame_rate"]) }
    let rate = fraction ?? (0, 1)

    var frameCount = counted ? int(video["nb_read_frames"]) : nil
    if frameCount == nil { frameCount = int(video["nb_frames"]) }
    if frameCount == 0 && !counted { frameCount = nil }

    var tags: [String: String] = [:]
    for (key, value) in format["tags"] as? [String: Any] ?? [:] {
        if let text = value as? String { tags[key] = text } else { tags[key] = "\(value)" }
    }

    var audio: AudioStreamInfo?
    if let stream = streams.first(where: { $0["codec_type"] as? String == "audio" }),
       let sampleRate = int(stream["sample_rate"]), let channels = int(stream["channels"]) {
        audio = AudioStreamInfo(sampleRate: sampleRate, channels: channels,
                                codecName: stream["codec_name"] as? String ?? "unknown",
                                duration: double(stream["duration"]))
    }

    return VideoInfo(width: width, height: height, rotation: rotation(of: video),
                     frameRate: Double(rate.numerator) / Double(rate.denominator),
                     frameRateFraction: (rate.numerator, rate.denominator),
                     frameCount: frameCount,
                     codecName: video["codec_name"] as? String ?? "unknown",
                     pixelFormat: video["pix_fmt"] as? String,
                     duration: double(format["duration"]) ?? double(video["duration"]),
                     formatName: format["format_name"] as? String ?? "unknown",
                     tags: tags, audio: audio)
}

/// The display rotation in degrees, normalised to 0, 90, 180 or 270.
private func rotation(of stream: [String: Any]) -> Int {
    var degrees: Double?
    for entry in stream["side_data_list"] as? [[String: Any]] ?? [] {
        if let value = double(entry["rotation"]) { degrees = value }
    }
    if degrees == nil, let tags = stream["tags"] as? [String: Any] { degrees = double(tags["rotate"]) }
    guard let degrees, degrees.isFinite else { return 0 }
    let quarter = Int((degrees / 90).rounded())
    return ((quarter % 4 + 4) % 4) * 90
}

/// An integer from a JSON number or numeric string.
private func int(_ value: Any?) -> Int? {
    if let number = value as? Int { return number }
    if let text = value as? String { return Int(text) }
    if let number = value as? Double, number.isFinite, number.rounded() == number { return Int(number) }
    return nil
}

/// A number from a JSON number or numeric string (ffprobe writes durations as strings).
private func double(_ value: Any?) -> Double? {
    if let number = value as? Double { return number.isFinite ? number : nil }
    if let number = value as? Int { return Double(number) }
    if let text = value as? String, let number = Double(text), number.isFinite { return number }
    return nil
}

/// A positive fraction from ffprobe's `"num/den"` text; nil for `0/0` or malformed text.
private func rational(_ value: Any?) -> (numerator: Int, denominator: Int)? {
    guard let text = value as? String else { return nil }
    let parts = text.split(separator: "/")
    guard parts.count == 2, let numerator = Int(parts[0]), let denominator = Int(parts[1]),
          numerator > 0, denominator > 0 else { return nil }
    return (numerator, denominator)
}
