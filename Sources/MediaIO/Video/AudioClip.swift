/// Decoded or generated audio: interleaved 32-bit float samples in [-1, 1].
///
/// ComfyUI's `AUDIO` value is a waveform `[batch, channels, samples]` plus `sample_rate`; the node layer
/// converts between that layout and this interleaved one.
public struct AudioClip: Sendable, Equatable {
    /// Interleaved samples: frame 0's channels, then frame 1's, ….
    public var samples: [Float]
    /// Number of channels (1 mono, 2 stereo, …).
    public var channels: Int
    /// Sample frames per second.
    public var sampleRate: Int

    public init(samples: [Float], channels: Int, sampleRate: Int) {
        self.samples = samples
        self.channels = channels
        self.sampleRate = sampleRate
    }

    /// Sample frames (samples per channel).
    public var frameCount: Int { channels > 0 ? samples.count / channels : 0 }

    /// Length in seconds.
    public var duration: Double { sampleRate > 0 ? Double(frameCount) / Double(sampleRate) : 0 }

    /// Throws `.invalidArgument` unless channels and rate are positive and the samples fill whole frames.
    func validate() throws {
        guard channels > 0, channels <= 64 else {
            throw MediaError(.invalidArgument, "Audio channel count \(channels) is out of range (1-64)")
        }
        guard sampleRate > 0, sampleRate <= 1_000_000 else {
            throw MediaError(.invalidArgument, "Audio sample rate \(sampleRate) is out of range")
        }
        guard samples.count % channels == 0 else {
            throw MediaError(.invalidArgument, "Audio has \(samples.count) samples, not a multiple of \(channels) channels")
        }
    }
}
