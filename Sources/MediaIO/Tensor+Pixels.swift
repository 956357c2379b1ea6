import TensorCore

/// Conversions between ComfyUI's float tensors and 8-bit pixel buffers.
///
/// IMAGE tensors are `[batch, height, width, channels]` in `[0, 1]`; MASK tensors `[batch, height, width]`.
/// The rules are ComfyUI's: to 8-bit is `np.clip(255. * x, 0, 255).astype(np.uint8)` (multiply in
/// `Float`, clamp, truncate; NaN becomes 0), from 8-bit is `Float(v) / 255`, from 16-bit `Float(v) / 65535`.
extension Tensor {
    /// One sample converted to 8 bits the way ComfyUI's savers do.
    @inlinable
    public static func quantize(_ value: Float) -> UInt8 {
        let scaled = 255 * value
        guard scaled == scaled else { return 0 }
        return UInt8(Swift.min(Swift.max(scaled, 0), 255))
    }

    /// An IMAGE `[1, height, width, channels]` from interleaved 8-bit samples.
    /// - Precondition: `pixels.count == width * height * channels`.
    public static func image(pixels: [UInt8], width: Int, height: Int, channels: Int) -> Tensor {
        Tensor(shape: [1, height, width, channels], scalars: pixels.map { Float($0) / 255 })
    }

    /// An RGB IMAGE `[frames, height, width, 3]` from decoded frames, dropping any alpha channel.
    ///
    /// Like ComfyUI's LoadImage, frames whose size differs from the first frame's are skipped.
    /// - Precondition: `frames` is not empty.
    public static func image(frames: [DecodedImage]) -> Tensor {
        let kept = sameSizeFrames(frames)
        let w = kept[0].width, h = kept[0].height
        var scalars: [Float] = []
        scalars.reserveCapacity(kept.count * w * h * 3)
        for frame in kept {
            let c = frame.channels
            switch frame.samples {
            case .uint8(let s):
                for p in 0..<(w * h) { for k in 0..<3 { scalars.append(Float(s[p * c + k]) / 255) } }
            case .uint16(let s):
                for p in 0..<(w * h) { for k in 0..<3 { scalars.append(Float(s[p * c + k]) / 65535) } }
            }
        }
        return Tensor(shape: [kept.count, h, w, 3], scalars: scalars)
    }

    /// The frames that have the first frame's size (ComfyUI skips the others).
    public static func sameSizeFrames(_ frames: [DecodedImage]) -> [DecodedImage] {
        guard let first = frames.first else { return [] }
        return frames.filter { $0.width == first.width && $0.height == first.height }
    }

    /// The alpha channel of one frame as `[height, width]` values in `[0, 1]`, or `nil` when the frame
    /// has no alpha channel (RGB data).
    public static func alpha(of frame: DecodedImage) -> [Float]? {
        guard frame.channels == 4 else { return nil }
        let n = frame.width * frame.height
        switch frame.samples {
        case .uint8(let s): return (0..<n).map { Float(s[$0 * 4 + 3]) / 255 }
        case .uint16(let s): return (0..<n).map { Float(s[$0 * 4 + 3]) / 65535 }
        }
    }

    /// Batch item `index` of an IMAGE as interleaved 8-bit samples (`height × width × channels`).
    /// - Precondition: rank 4 and `index` in range.
    public func imagePixels(batch index: Int) -> [UInt8] {
        precondition(rank == 4 && index >= 0 && index < shape[0], "not an IMAGE batch index")
        // Only this item is read (and converted if needed), not the whole batch.
        return slice(batch: index..<(index + 1)).withFloats { $0.map(Tensor.quantize) }
    }

    /// Batch item `index` of an IMAGE as interleaved 8-bit samples with exactly `channels` channels
    /// (3 drops alpha; 4 adds an opaque alpha to RGB; gray is repeated), quantized like ``quantize(_:)``
    /// or, with `rounded`, to the nearest value (`255 · x + 0.5`, as VideoHelperSuite does).
    /// - Precondition: rank 4, `index` in range, `channels` 3 or 4.
    public func imagePixels(batch index: Int, channels: Int, rounded: Bool = false) -> [UInt8] {
        precondition(rank == 4 && index >= 0 && index < shape[0], "not an IMAGE batch index")
        precondition(channels == 3 || channels == 4, "3 or 4 channels")
        let c = shape[3]
        if c == channels && !rounded { return imagePixels(batch: index) }
        let n = shape[1] * shape[2]
        let offset: Float = rounded ? 0.5 / 255 : 0
        func q(_ v: Float) -> UInt8 { Tensor.quantize(v + offset) }
        return slice(batch: index..<(index + 1)).withFloats { src in
            var out = [UInt8](repeating: 255, count: n * channels)
            for p in 0..<n {
                for k in 0..<Swift.min(channels, 3) {
                    out[p * channels + k] = q(src[p * c + Swift.min(k, c - 1)])
                }
                if channels == 4 && c == 4 { out[p * 4 + 3] = q(src[p * 4 + 3]) }
            }
            return out
        }
    }

    /// Batch item `index` as 16-bit samples (`round(65535 · x)` clamped, native byte order) with
    /// `channels` channels, for 16-bit video formats.
    public func imagePixels16(batch index: Int, channels: Int) -> [UInt16] {
        precondition(rank == 4 && index >= 0 && index < shape[0], "not an IMAGE batch index")
        let c = shape[3]
        let n = shape[1] * shape[2]
        func q(_ v: Float) -> UInt16 {
            let s = v * 65535 + 0.5
            guard s == s else { return 0 }
            return UInt16(Swift.min(Swift.max(s, 0), 65535))
        }
        return slice(batch: index..<(index + 1)).withFloats { src in
            var out = [UInt16](repeating: 65535, count: n * channels)
            for p in 0..<n {
                for k in 0..<Swift.min(channels, 3) { out[p * channels + k] = q(src[p * c + Swift.min(k, c - 1)]) }
                if channels == 4 && c == 4 { out[p * 4 + 3] = q(src[p * 4 + 3]) }
            }
            return out
        }
    }

    /// Batch item `index` of a MASK `[B, H, W]` as 8-bit gray samples.
    public func maskPixels(batch index: Int) -> [UInt8] {
        precondition(rank == 3 && index >= 0 && index < shape[0], "not a MASK batch index")
        return slice(batch: index..<(index + 1)).withFloats { $0.map(Tensor.quantize) }
    }
}
