import FolderPaths
import Foundation
import MediaIO
import TensorCore
import Workflow

extension SocketType {
    public static let video = "VIDEO"
    public static let audio = "AUDIO"
}

/// ComfyUI's AUDIO value: a waveform `[batch, channels, samples]` and its sample rate.
public struct AudioValue: Sendable {
    public var waveform: Tensor
    public var sampleRate: Int

    public init(waveform: Tensor, sampleRate: Int) {
        self.waveform = waveform
        self.sampleRate = sampleRate
    }

    /// A batch-of-one waveform from decoded interleaved samples.
    public init(_ clip: AudioClip) {
        let channels = max(clip.channels, 1)
        let frames = clip.samples.count / channels
        var planar = [Float](repeating: 0, count: frames * channels)
        for f in 0..<frames {
            for c in 0..<channels { planar[c * frames + f] = clip.samples[f * channels + c] }
        }
        self.init(waveform: Tensor(shape: [1, channels, frames], scalars: planar), sampleRate: clip.sampleRate)
    }

    /// Batch item 0 as interleaved samples (the track a video carries).
    /// - Throws: ``NodeError`` when the waveform is not `[batch, channels, samples]`.
    public func clip() throws -> AudioClip {
        guard waveform.rank == 3, waveform.shape[0] >= 1, waveform.shape[1] >= 1, sampleRate > 0 else {
            throw NodeError("AUDIO waveform must be [batch, channels, samples] with a positive sample rate (got \(waveform.shape), \(sampleRate) Hz)")
        }
        let channels = waveform.shape[1], frames = waveform.shape[2]
        let planar = waveform.slice(batch: 0..<1).scalars
        var interleaved = [Float](repeating: 0, count: frames * channels)
        for f in 0..<frames {
            for c in 0..<channels { interleaved[f * channels + c] = planar[c * frames + f] }
        }
        return AudioClip(samples: interleaved, channels: channels, sampleRate: sampleRate)
    }
}

/// ComfyUI's VIDEO value: either a file on disk (LoadVideo) or frames, a frame rate and optional audio
/// (CreateVideo). Frames of a file are decoded only when a node asks for them.
public enum VideoValue: Sendable {
    case file(path: String)
    case components(VideoComponents)
}

/// The parts of a video (ComfyUI's `VideoComponents`).
public struct VideoComponents: Sendable {
    /// IMAGE `[frames, height, width, channels]`.
    public var images: Tensor
    public var frameRate: Double
    public var audio: AudioValue?

    public init(images: Tensor, frameRate: Double, audio: AudioValue? = nil) {
        self.images = images
        self.frameRate = frameRate
        self.audio = audio
    }
}

extension NodeInvocation {
    /// Reads a VIDEO input.
    public func video(_ name: String) throws -> VideoValue { try object(name, as: VideoValue.self) }

    /// Reads an optional AUDIO input (`nil` when not connected).
    public func audio(_ name: String) throws -> AudioValue? { try optionalObject(name, as: AudioValue.self) }
}

extension VideoValue {
    /// The frames, frame rate and audio, decoding a file (refusing more than `maxPixels` pixels).
    /// - Throws: ``NodeError`` for unreadable files or oversize videos.
    /// - Parameter info: the file's probe, when the caller already has it.
    func components(tools: @autoclosure () throws -> FFmpegTools, maxPixels: Int, info known: VideoInfo? = nil) throws -> VideoComponents {
        switch self {
        case .components(let c): return c
        case .file(let path):
            let tools = try tools()
            let info = try known ?? MediaNodeSupport.probe(path, tools: tools)
            let (w, h) = (info.displayWidth, info.displayHeight)
            var scalars: [Float] = []
            if let count = info.frameCount, count > 0, count * w * h <= maxPixels { scalars.reserveCapacity(count * w * h * 3) }
            var frames = 0
            do {
                try decodeVideoFrames(tools: tools, path: path, maxPixels: maxPixels, info: info) { frame, _ in
                    for b in frame { scalars.append(Float(b) / 255) }
                    frames += 1
                }
            } catch let error as MediaError {
                throw NodeError("Cannot decode video \(MediaNodeSupport.fileName(path)): \(error.message)", type: "loom.MediaError")
            }
            guard frames > 0 else { throw NodeError("Video \(MediaNodeSupport.fileName(path)) has no frames") }
            let audio: AudioValue?
            do {
                audio = try decodeAudio(tools: tools, path: path).map(AudioValue.init)
            } catch let error as MediaError {
                throw NodeError("Cannot decode the audio of \(MediaNodeSupport.fileName(path)): \(error.message)", type: "loom.MediaError")
            }
            let rate = info.frameRate > 0 ? info.frameRate : 1
            return VideoComponents(images: Tensor(shape: [frames, h, w, 3], scalars: scalars), frameRate: rate, audio: audio)
        }
    }
}
