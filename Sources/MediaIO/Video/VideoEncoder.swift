import Foundation

/// Layouts of raw frames exchanged with ffmpeg (interleaved, row-major, no padding between rows).
public enum RawPixelFormat: String, Sendable, CaseIterable {
    /// 8-bit R, G, B.
    case rgb24
    /// 8-bit R, G, B, A.
    case rgba
    /// 16-bit little-endian R, G, B.
    case rgb48le
    /// 16-bit little-endian R, G, B, A.
    case rgba64le

    /// Bytes per pixel (3, 4, 6 or 8).
    public var bytesPerPixel: Int {
        switch self {
        case .rgb24: return 3
        case .rgba: return 4
        case .rgb48le: return 6
        case .rgba64le: return 8
        }
    }

    /// Channels per pixel (3 or 4).
    public var channels: Int { self == .rgba || self == .rgba64le ? 4 : 3 }

    /// Bytes per channel sample (1 or 2).
    public var bytesPerSample: Int { bytesPerPixel / channels }
}

/// Streams raw frames into an `ffmpeg` process that encodes them to a file.
///
/// The command is `ffmpeg -v error -f rawvideo -pix_fmt F -s WxH -r R [preInputArguments] -i -
/// [-f ffmetadata -i METADATA -map_metadata 1] [outputArguments] OUTPUT`; frames are written to its stdin one
/// at a time, so neither the raw video nor the encoded file is held in memory. ffmpeg's stderr is drained
/// on a separate thread. An encoder that is neither finished nor cancelled cancels itself when released.
///
/// ```swift
/// let encoder = try VideoEncoder(tools: tools, outputPath: "out.mp4", width: 512, height: 512,
///                                frameRate: 8, inputFormat: .rgb24,
///                                outputArguments: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "19"],
///                                metadata: [("prompt", promptJSON)])
/// for frame in frames { try encoder.write(frame) }
/// try encoder.finish()
/// ```
public final class VideoEncoder {
    /// The file being written.
    public let outputPath: String
    /// Frame width in pixels.
    public let width: Int
    /// Frame height in pixels.
    public let height: Int
    /// Layout of the frames passed to ``write(_:)-(UnsafeRawBufferPointer)``.
    public let inputFormat: RawPixelFormat
    /// Bytes in one frame: width × height × bytes per pixel.
    public let frameByteCount: Int
    /// Frames accepted so far.
    public private(set) var framesWritten = 0

    private enum State {
        case running
        case finished
        case failed(MediaError)
        case cancelled
    }

    private var state = State.running
    private var tool: ToolProcess?
    private var metadataFile: String?

    /// Starts ffmpeg.
    /// - Parameters:
    ///   - tools: the ffmpeg/ffprobe locations.
    ///   - outputPath: the file to write; its extension picks the container unless `outputArguments` has `-f`.
    ///   - width, height: frame size in pixels.
    ///   - frameRate: frames per second (NTSC rates such as 23.976 are sent as 24000/1001).
    ///   - inputFormat: layout of the frames to be written.
    ///   - preInputArguments: options for the raw input, placed before `-i -` (e.g. `-color_range pc`).
    ///   - outputArguments: codec and muxer options placed after all inputs
    ///     (e.g. `-c:v libx264 -pix_fmt yuv420p -crf 19`).
    ///   - metadata: container tags such as `prompt` and `workflow`. They are written to a temporary
    ///     FFMETADATA file (never the command line, so values may be megabytes); for MP4/MOV outputs
    ///     `-movflags use_metadata_tags` is added so custom keys survive. A key or value may not contain NUL or
    ///     end with a backslash (ffmpeg's metadata reader cannot represent those).
    ///   - overwrite: replace an existing output file; otherwise an existing file is refused.
    /// - Throws: ``MediaError``: `.invalidArgument` for bad sizes, rates or metadata, or an existing output;
    ///   `.toolMissing` when ffmpeg cannot be started.
    public init(tools: FFmpegTools, outputPath: String, width: Int, height: Int, frameRate: Double,
                inputFormat: RawPixelFormat, preInputArguments: [String] = [], outputArguments: [String],
                metadata: [(key: String, value: String)] = [], overwrite: Bool = false) throws {
        guard width > 0, height > 0, width <= 1 << 16, height <= 1 << 16 else {
            throw MediaError(.invalidArgument, "Invalid video size \(width)x\(height)")
        }
        guard frameRate.isFinite, frameRate > 0, frameRate <= 10_000 else {
            throw MediaError(.invalidArgument, "Invalid frame rate \(frameRate)")
        }
        guard !outputPath.isEmpty else { throw MediaError(.invalidArgument, "Empty video output path") }
        if !overwrite && FileManager.default.fileExists(atPath: outputPath) {
            throw MediaError(.invalidArgument, "Video output \(outputPath) already exists")
        }
        self.outputPath = outputPath
        self.width = width
        self.height = height
        self.inputFormat = inputFormat
        frameByteCount = width * height * inputFormat.bytesPerPixel

        var arguments = ["-hide_banner", "-nostats", "-v", "error", overwrite ? "-y" : "-n",
                         "-f", "rawvideo", "-pix_fmt", inputFormat.rawValue, "-s", "\(width)x\(height)",
                         "-r", ffmpegRate(frameRate)]
        arguments += preInputArguments
        arguments += ["-i", "-"]
        var output = outputArguments
        if !metadata.isEmpty {
            let file = try writeFFMetadataFile(metadata)
            metadataFile = file
            arguments += ["-f", "ffmetadata", "-i", fileURLArgument(file), "-map_metadata", "1"]
            if isQuickTimeOutput(path: outputPath, arguments: outputArguments) {
                output = addingMovFlag("use_metadata_tags", to: output)
            }
        }
        arguments += output
        arguments.append(fileURLArgument(outputPath))
        do {
            tool = try ToolProcess(executable: tools.ffmpeg, arguments: arguments, feedStdin: true, readStdout: false)
        } catch {
            removeMetadataFile()
            throw error
        }
    }

    /// The ffmpeg process id (for diagnostics).
    public var processIdentifier: Int32? { tool?.processIdentifier }

    /// Sends one frame of ``frameByteCount`` bytes in ``inputFormat``.
    /// - Throws: ``MediaError``: `.invalidArgument` for a wrong size or an encoder that is no longer running;
    ///   `.toolFailed` with ffmpeg's message when ffmpeg exited (the partial output is removed).
    public func write(_ frame: UnsafeRawBufferPointer) throws {
        try checkRunning()
        guard frame.count == frameByteCount else {
            throw MediaError(.invalidArgument, "Video frame has \(frame.count) bytes, expected \(frameByteCount) "
                             + "(\(width)x\(height) \(inputFormat.rawValue))")
        }
        guard let tool else { throw MediaError(.invalidArgument, "The video encoder is not running") }
        let accepted: Bool
        do {
            accepted = try tool.write(frame)
        } catch let error as MediaError {
            fail(error)
            throw error
        }
        guard accepted else {
            // ffmpeg closed its input: it exited, so its stderr says why.
            let result = tool.wait()
            let error = ToolProcess.failure(name: tool.name, action: "encoding \(outputPath)", result)
                ?? MediaError(.toolFailed, "ffmpeg stopped reading frames after \(framesWritten) while encoding \(outputPath)")
            fail(error)
            throw error
        }
        framesWritten += 1
    }

    /// Sends one frame of ``frameByteCount`` bytes in ``inputFormat``.
    /// - Throws: see ``write(_:)-(UnsafeRawBufferPointer)``.
    public func write(_ frame: [UInt8]) throws {
        try frame.withUnsafeBytes { try write($0) }
    }

    /// Closes ffmpeg's input, waits for it to finish writing the file and returns the number of frames written.
    /// - Throws: ``MediaError`` `.toolFailed` with ffmpeg's stderr when it fails (the partial output is removed),
    ///   `.invalidArgument` when no frame was written or the encoder already stopped.
    @discardableResult
    public func finish() throws -> Int {
        try checkRunning()
        guard framesWritten > 0 else {
            cancel()
            throw MediaError(.invalidArgument, "No frames were written to \(outputPath)")
        }
        guard let tool else { throw MediaError(.invalidArgument, "The video encoder is not running") }
        let result = tool.wait()
        if let error = ToolProcess.failure(name: tool.name, action: "encoding \(outputPath)", result) {
            fail(error)
            throw error
        }
        state = .finished
        self.tool = nil
        removeMetadataFile()
        return framesWritten
    }

    /// Stops ffmpeg and removes the partial output. Does nothing after ``finish()``.
    public func cancel() {
        guard case .running = state else { return }
        state = .cancelled
        if let tool {
            tool.kill()
            tool.wait()
        }
        tool = nil
        try? FileManager.default.removeItem(atPath: outputPath)
        removeMetadataFile()
    }

    deinit {
        cancel()
    }

    private func checkRunning() throws {
        switch state {
        case .running: return
        case .finished: throw MediaError(.invalidArgument, "The video encoder for \(outputPath) has already finished")
        case .cancelled: throw MediaError(.invalidArgument, "The video encoder for \(outputPath) was cancelled")
        case .failed(let error): throw error
        }
    }

    /// Records a failure: stops ffmpeg, removes the partial output and the metadata file.
    private func fail(_ error: MediaError) {
        state = .failed(error)
        if let tool {
            tool.kill()
            tool.wait()
        }
        tool = nil
        // With `-n`, ffmpeg refuses a file that appeared after the check in init; that file is not ours.
        if !error.message.contains("already exists") {
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        removeMetadataFile()
    }

    private func removeMetadataFile() {
        if let metadataFile {
            try? FileManager.default.removeItem(atPath: metadataFile)
            self.metadataFile = nil
        }
    }
}

// MARK: - Audio muxing

/// Copies a video file's video stream and adds an audio track fed to ffmpeg as raw float samples on stdin.
///
/// Runs `ffmpeg -i VIDEO -f f32le -ar R -ac C -i - -map 0:v:0 -map 1:a:0 -c:v copy [audioArguments]
/// [-af apad=whole_dur=P] [-shortest] -map_metadata 0 OUTPUT`; the video file's tags are kept (with
/// `-movflags use_metadata_tags` for MP4/MOV).
/// - Parameters:
///   - tools: the ffmpeg/ffprobe locations.
///   - videoPath: the encoded video (for example a ``VideoEncoder`` output).
///   - audio: the samples to add.
///   - audioArguments: audio codec options, e.g. `["-c:a", "aac"]` or `["-c:a", "libopus"]`; must not carry
///     `-af` when `padToSeconds` is given.
///   - outputPath: the file to write (must differ from `videoPath`).
///   - padToSeconds: pad the audio with silence to at least this many seconds (typically the video's length).
///   - trimToAudio: pass `-shortest`, so the output ends with the shorter stream (the video is cut to the
///     audio when the audio is shorter and not padded).
///   - overwrite: replace an existing output file; otherwise an existing file is refused.
/// - Throws: ``MediaError``: `.invalidArgument` for bad audio or paths, `.toolFailed` with ffmpeg's message.
public func muxAudio(tools: FFmpegTools, videoPath: String, audio: AudioClip, audioArguments: [String] = ["-c:a", "aac"],
                     outputPath: String, padToSeconds: Double? = nil, trimToAudio: Bool = false,
                     overwrite: Bool = false) throws {
    try audio.validate()
    guard audio.frameCount > 0 else { throw MediaError(.invalidArgument, "The audio clip is empty") }
    guard FileManager.default.fileExists(atPath: videoPath) else {
        throw MediaError(.invalidArgument, "Video file \(videoPath) does not exist")
    }
    guard (videoPath as NSString).standardizingPath != (outputPath as NSString).standardizingPath else {
        throw MediaError(.invalidArgument, "The muxed output must not overwrite its video input \(videoPath)")
    }
    if !overwrite && FileManager.default.fileExists(atPath: outputPath) {
        throw MediaError(.invalidArgument, "Output \(outputPath) already exists")
    }
    #if _endian(little)
    let sampleFormat = "f32le"
    #else
    let sampleFormat = "f32be"
    #endif
    var arguments = ["-hide_banner", "-nostats", "-v", "error", overwrite ? "-y" : "-n",
                     "-i", fileURLArgument(videoPath),
                     "-f", sampleFormat, "-ar", "\(audio.sampleRate)", "-ac", "\(audio.channels)", "-i", "-",
                     "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"]
    arguments += audioArguments
    if let padToSeconds {
        guard padToSeconds.isFinite, padToSeconds >= 0 else {
            throw MediaError(.invalidArgument, "Invalid audio padding \(padToSeconds) s")
        }
        arguments += ["-af", "apad=whole_dur=\(padToSeconds)"]
    }
    if trimToAudio { arguments.append("-shortest") }
    arguments += ["-map_metadata", "0"]
    if isQuickTimeOutput(path: outputPath, arguments: audioArguments) {
        arguments = addingMovFlag("use_metadata_tags", to: arguments)
    }
    arguments.append(fileURLArgument(outputPath))

    let tool = try ToolProcess(executable: tools.ffmpeg, arguments: arguments, feedStdin: true, readStdout: false)
    let action = "adding audio to \(outputPath)"
    var accepted = true
    do {
        try audio.samples.withUnsafeBytes { bytes in
            let chunk = 256 * 1024
            var offset = 0
            while offset < bytes.count && accepted {
                let end = min(bytes.count, offset + chunk)
                accepted = try tool.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
        }
    } catch {
        tool.kill()
        tool.wait()
        try? FileManager.default.removeItem(atPath: outputPath)
        throw error
    }
    let result = tool.wait()
    if let error = ToolProcess.failure(name: tool.name, action: action, result) {
        if !error.message.contains("already exists") { try? FileManager.default.removeItem(atPath: outputPath) }
        throw error
    }
    if !accepted {
        try? FileManager.default.removeItem(atPath: outputPath)
        throw MediaError(.toolFailed, "ffmpeg stopped reading audio samples while \(action)")
    }
}

// MARK: - Helpers

/// A local path as an ffmpeg/ffprobe argument: with the `file:` protocol, so names starting with `-` or
/// containing `:` are never read as options or other protocols.
func fileURLArgument(_ path: String) -> String { "file:" + path }

/// A frame rate as ffmpeg's `-r` wants it: NTSC rates as exact fractions, others as decimals.
func ffmpegRate(_ rate: Double) -> String {
    for numerator in [24000, 30000, 48000, 60000, 120000] {
        let ntsc = Double(numerator) / 1001
        if abs(rate - ntsc) < 1e-3 { return "\(numerator)/1001" }
    }
    if rate == rate.rounded() { return "\(Int(rate))" }
    return "\(rate)"
}

/// Whether the output is an MP4/QuickTime file (by `-f` or by extension), whose muxer drops custom tags
/// unless `use_metadata_tags` is set.
func isQuickTimeOutput(path: String, arguments: [String]) -> Bool {
    let quickTime: Set<String> = ["mp4", "mov", "m4v", "m4a", "3gp", "3g2", "ismv", "ipod"]
    if let index = arguments.lastIndex(of: "-f"), index + 1 < arguments.count {
        return quickTime.contains(arguments[index + 1].lowercased())
    }
    return quickTime.contains((path as NSString).pathExtension.lowercased())
}

/// Adds a flag to an existing `-movflags` value (keeping e.g. `+faststart`) or appends `-movflags +flag`.
func addingMovFlag(_ flag: String, to arguments: [String]) -> [String] {
    var result = arguments
    if let index = result.lastIndex(of: "-movflags"), index + 1 < result.count {
        if !result[index + 1].contains(flag) { result[index + 1] += "+" + flag }
    } else {
        result += ["-movflags", "+" + flag]
    }
    return result
}

/// Writes `entries` as an FFMETADATA1 file in the temporary directory and returns its path.
func writeFFMetadataFile(_ entries: [(key: String, value: String)]) throws -> String {
    let data = try ffmetadata(entries)
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("loom-ffmetadata-\(UUID().uuidString).txt")
    guard FileManager.default.createFile(atPath: path, contents: Data(data),
                                         attributes: [.posixPermissions: 0o600]) else {
        throw MediaError(.invalidArgument, "Cannot write the video metadata file \(path)")
    }
    return path
}

/// The FFMETADATA1 text for `entries`: `key=value` lines with `=`, `;`, `#`, `\`, CR and LF escaped by a
/// backslash (a leading `[` too, which would start a section).
func ffmetadata(_ entries: [(key: String, value: String)]) throws -> [UInt8] {
    var out = Array(";FFMETADATA1\n".utf8)
    func append(_ text: String, isKey: Bool) throws {
        let bytes = Array(text.utf8)
        if bytes.contains(0) {
            throw MediaError(.invalidArgument, "Video metadata \(isKey ? "key" : "value") contains a NUL character")
        }
        // ffmpeg 5's reader treats the line end after an escaped trailing backslash as escaped too.
        if bytes.last == UInt8(ascii: "\\") {
            throw MediaError(.invalidArgument, "Video metadata \(isKey ? "key" : "value") may not end with a backslash")
        }
        out.reserveCapacity(out.count + bytes.count + 16)
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "="), UInt8(ascii: ";"), UInt8(ascii: "#"), UInt8(ascii: "\\"), 0x0A, 0x0D:
                out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "[") where isKey && index == 0:
                out.append(UInt8(ascii: "\\"))
            default:
                break
            }
            out.append(byte)
        }
    }
    for (key, value) in entries {
        guard !key.isEmpty else { throw MediaError(.invalidArgument, "Video metadata key is empty") }
        try append(key, isKey: true)
        out.append(UInt8(ascii: "="))
        try append(value, isKey: false)
        out.append(0x0A)
    }
    return out
}
