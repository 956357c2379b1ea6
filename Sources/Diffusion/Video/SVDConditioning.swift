import Models
import TensorCore

/// How Stable Video Diffusion turns a conditioning entry into its network's extra inputs (ComfyUI's
/// `SVD_img2vid.extra_conds` and `encode_adm`).
public enum SVDConditioning {
    /// The `y` vector `[1, 768]`: the 256-wide sinusoidal embeddings of `fps − 1`, `motion_bucket_id` and
    /// `augmentation_level`, side by side.
    public static func adm(_ video: VideoConditioning) -> Tensor {
        let values: [Float] = [Float(video.fps - 1), Float(video.motionBucketID), Float(video.augmentationLevel)]
        let rows = SinusoidalEmbedding.embed(values, dimension: 256)  // [3, 256]
        return rows.reshaped([1, 3 * 256])
    }

    /// `c_concat`: the entry's concat latent (zeros when it has none) resized to the noise's size when it differs
    /// (`common_upscale` bilinear with a center crop), then spread over `batch` rows as `resize_to_batch_size` does.
    ///
    /// - Parameters:
    ///   - latent: `[n, C, h', w']` or nil.
    ///   - shape: the noise's shape `[batch, C, h, w]`.
    public static func concatLatent(_ latent: Tensor?, noiseShape shape: [Int], backend: any Backend) -> Tensor {
        guard var latent else { return Tensor(zeros: shape) }
        let (height, width) = (shape[2], shape[3])
        if Array(latent.shape.dropFirst()) != Array(shape.dropFirst()) {
            latent = centerCropped(latent, width: width, height: height)
            latent = backend.interpolate(latent, size: (height, width), mode: .bilinear)
        }
        return resizedToBatch(latent, shape[0])
    }

    /// ComfyUI's `resize_to_batch_size`: picks rows spread evenly over the input (nearest row centres), rather
    /// than repeating the whole batch.
    public static func resizedToBatch(_ tensor: Tensor, _ batch: Int) -> Tensor {
        let count = tensor.shape[0]
        if count == batch { return tensor }
        if batch <= 1 { return tensor.slice(batch: 0..<max(0, batch)) }
        var rows: [Int] = []
        if batch < count {
            let scale = Double(count - 1) / Double(batch - 1)
            rows = (0..<batch).map { min(Int((Double($0) * scale).rounded(.toNearestOrEven)), count - 1) }
        } else {
            let scale = Double(count) / Double(batch)
            rows = (0..<batch).map { min(Int(((Double($0) + 0.5) * scale).rounded(.down)), count - 1) }
        }
        return Tensor.concatenated(rows.map { tensor.slice(batch: $0..<($0 + 1)) }, dim: 0)
    }

    /// `common_upscale`'s aspect-preserving center crop of `[B, C, h, w]` toward `width : height` (Python's
    /// round, ties to even).
    static func centerCropped(_ x: Tensor, width: Int, height: Int) -> Tensor {
        let (oldHeight, oldWidth) = (x.shape[2], x.shape[3])
        let oldAspect = Double(oldWidth) / Double(oldHeight), newAspect = Double(width) / Double(height)
        var dx = 0, dy = 0
        if oldAspect > newAspect {
            dx = Int(((Double(oldWidth) - Double(oldWidth) * (newAspect / oldAspect)) / 2).rounded(.toNearestOrEven))
        } else if oldAspect < newAspect {
            dy = Int(((Double(oldHeight) - Double(oldHeight) * (oldAspect / newAspect)) / 2).rounded(.toNearestOrEven))
        }
        guard dx > 0 || dy > 0 else { return x }
        return x.narrowed(dim: 2, start: dy, length: oldHeight - 2 * dy).narrowed(dim: 3, start: dx, length: oldWidth - 2 * dx)
    }
}
