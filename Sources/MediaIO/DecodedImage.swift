/// One decoded frame: `height × width × channels` interleaved samples, 8- or 16-bit.
public struct DecodedImage: Sendable, Equatable {
    /// Interleaved samples in row-major order.
    public enum Samples: Sendable, Equatable {
        case uint8([UInt8])
        case uint16([UInt16])
    }

    /// Where the alpha channel came from (Pillow, and so ComfyUI's LoadImage, only treats
    /// `.channel` and `.palette` as alpha).
    public enum AlphaSource: Int32, Sendable, Equatable {
        /// Opaque; any alpha channel present is filled with the maximum value.
        case none = 0
        /// A real alpha channel (RGBA, gray+alpha, WEBP with alpha).
        case channel = 1
        /// A palette PNG with a `tRNS` chunk.
        case palette = 2
        /// A gray or RGB PNG with a `tRNS` colour key.
        case colorKey = 3
    }

    public var width: Int
    public var height: Int
    /// 3 (RGB) or 4 (RGBA).
    public var channels: Int
    public var samples: Samples
    public var alpha: AlphaSource
    /// Display time of an animation frame, if the file gives one.
    public var durationMilliseconds: Int?

    public init(width: Int, height: Int, channels: Int, samples: Samples, alpha: AlphaSource,
                durationMilliseconds: Int? = nil) {
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
        self.alpha = alpha
        self.durationMilliseconds = durationMilliseconds
    }

    /// Whether the file carried transparency in any form.
    public var hasAlpha: Bool { alpha != .none }

    /// 8 or 16.
    public var bitDepth: Int {
        if case .uint16 = samples { return 16 }
        return 8
    }

    /// The samples as 8-bit values (16-bit samples keep their high byte, as Pillow does).
    public var pixels: [UInt8] {
        switch samples {
        case .uint8(let s): return s
        case .uint16(let s): return s.map { UInt8(truncatingIfNeeded: $0 >> 8) }
        }
    }

    /// Sample `c` of pixel (`x`, `y`) scaled to `[0, 1]` (8-bit: v/255, 16-bit: v/65535, in `Float`).
    @inlinable
    public func normalized(x: Int, y: Int, channel c: Int) -> Float {
        let i = (y * width + x) * channels + c
        switch samples {
        case .uint8(let s): return Float(s[i]) / 255
        case .uint16(let s): return Float(s[i]) / 65535
        }
    }
}

/// A PNG text chunk (`tEXt`, `zTXt` or `iTXt`).
public struct TextChunk: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// A decoded file: its format, frames (one for stills) and metadata.
public struct DecodedImageFile: Sendable, Equatable {
    public var codec: ImageCodec
    public var frames: [DecodedImage]
    /// PNG text chunks in file order; empty for other formats.
    public var textChunks: [TextChunk]
    /// Loop count of an animated WEBP or APNG (0 = forever); `nil` for stills.
    public var loopCount: Int?
    /// An APNG's `comf` chunks (ComfyUI's animated PNG metadata: key, NUL, JSON) in file order;
    /// empty for other files.
    public var privateChunks: [TextChunk]

    public init(codec: ImageCodec, frames: [DecodedImage], textChunks: [TextChunk] = [], loopCount: Int? = nil,
                privateChunks: [TextChunk] = []) {
        self.codec = codec
        self.frames = frames
        self.textChunks = textChunks
        self.loopCount = loopCount
        self.privateChunks = privateChunks
    }
}
