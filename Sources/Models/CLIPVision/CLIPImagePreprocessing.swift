import TensorCore

/// ComfyUI's `clip_preprocess`: images in ComfyUI's IMAGE layout to the normalised pixels a CLIP
/// vision tower takes.
///
/// Steps: keep the first three channels; unless the image is already `size × size`, resize with
/// antialiased bicubic filtering (PyTorch `F.interpolate(mode="bicubic", antialias=True)`) — with
/// `crop`, the short side to `size` keeping the aspect ratio and then a centred `size × size` crop,
/// without it straight to `size × size`; quantise to 8 bits (`round(clip(255·x, 0, 255)) / 255`, ties to
/// even); subtract CLIP's mean and divide by its standard deviation per channel. All in float32.
public enum CLIPImagePreprocessing {
    /// CLIP's per-channel pixel mean (RGB), as float32 values of the decimal constants.
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073].map { (v: Double) in Float(v) }
    /// CLIP's per-channel pixel standard deviation (RGB).
    public static let standardDeviation: [Float] = [0.26862954, 0.26130258, 0.27577711].map { (v: Double) in Float(v) }

    /// Preprocesses a batch of images.
    ///
    /// - Parameters:
    ///   - image: `[B, H, W, C]` with values in 0…1 (ComfyUI's IMAGE); C is 1 (broadcast to three
    ///     channels, as PyTorch broadcasts it against the mean) or at least 3 (channels past the third
    ///     are dropped).
    ///   - size: the tower's image size (224 for ViT-L/14, ViT-H/14, ViT-bigG/14).
    ///   - crop: resize the short side and centre-crop (true, ComfyUI's default) or squash to the square.
    /// - Returns: `[B, 3, size, size]` float32.
    public static func pixels(_ image: Tensor, size: Int, crop: Bool) -> Tensor {
        precondition(image.rank == 4, "CLIP preprocessing: image must be [B, H, W, C], got \(image.shape)")
        let (batch, height, width, channels) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        precondition(channels == 1 || channels >= 3, "CLIP preprocessing: \(channels) channels")
        precondition(size > 0 && height > 0 && width > 0, "CLIP preprocessing: size \(size) for image \(image.shape)")
        let planes = min(channels, 3)

        // [B, H, W, C] → planes [B, c, H, W].
        var values = [Float](repeating: 0, count: batch * planes * height * width)
        image.withFloats { src in
            for b in 0..<batch {
                for c in 0..<planes {
                    let d = (b * planes + c) * height * width
                    for p in 0..<(height * width) { values[d + p] = src[(b * height * width + p) * channels + c] }
                }
            }
        }

        var (h, w) = (height, width)
        if height != size || width != size {
            (h, w) = resizedSize(height: height, width: width, size: size, crop: crop)
            values = AntialiasedBicubic.resample(values, planes: batch * planes, height: height, width: width,
                                                 outHeight: h, outWidth: w)
        }
        let top = (h - size) / 2, left = (w - size) / 2
        precondition(top >= 0 && left >= 0, "CLIP preprocessing: resized \(h)×\(w) is smaller than \(size)")

        var out = [Float](repeating: 0, count: batch * 3 * size * size)
        for b in 0..<batch {
            for c in 0..<3 {
                let plane = (b * planes + min(c, planes - 1)) * h * w
                let (m, s) = (mean[c], standardDeviation[c])
                let d = (b * 3 + c) * size * size
                for y in 0..<size {
                    let row = plane + (top + y) * w + left
                    for x in 0..<size {
                        let level = min(max(255 * values[row + x], 0), 255).rounded(.toNearestOrEven) / 255
                        out[d + y * size + x] = (level - m) / s
                    }
                }
            }
        }
        return Tensor(shape: [batch, 3, size, size], scalars: out)
    }

    /// The size an image is resized to before the centre crop: the short side to `size` (Python
    /// `round`, ties to even, of the scaled sides) with `crop`, `size × size` without.
    public static func resizedSize(height: Int, width: Int, size: Int, crop: Bool) -> (height: Int, width: Int) {
        guard crop else { return (size, size) }
        let scale = Double(size) / Double(min(height, width))
        return (Int((scale * Double(height)).rounded(.toNearestOrEven)), Int((scale * Double(width)).rounded(.toNearestOrEven)))
    }

    /// Resizes `x[N, C, H, W]` with antialiased bicubic filtering (PyTorch
    /// `F.interpolate(x, size, mode="bicubic", antialias=True)` on float32).
    public static func resizeBicubicAntialiased(_ x: Tensor, height: Int, width: Int) -> Tensor {
        precondition(x.rank == 4 && height > 0 && width > 0, "bicubic resize: \(x.shape) to \(height)×\(width)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let values = x.withFloats { Array($0) }
        let out = AntialiasedBicubic.resample(values, planes: n * c, height: h, width: w, outHeight: height, outWidth: width)
        return Tensor(shape: [n, c, height, width], scalars: out)
    }
}
