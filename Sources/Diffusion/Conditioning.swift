import TensorCore

/// ComfyUI's CONDITIONING: a list of `(cond, {"pooled_output": pooled, …})` pairs.
///
/// For SD1.x text encoding each entry holds `cond[1, 77·windows, 768]` and `pooled[1, 768]`, float32. For
/// Stable Video Diffusion (`SVD_img2vid_Conditioning`) `cond` is the CLIP-vision image embedding `[1, 1, 1024]`
/// and the entry carries the concatenated init latent and the fps / motion / augmentation values.
public struct Conditioning: Sendable {
    /// One `[cond, options]` pair.
    public struct Entry: Sendable {
        /// The cross-attention context `[batch, tokens, width]`.
        public var cond: Tensor
        /// `pooled_output` `[batch, width]`, when the encoder gives one.
        public var pooled: Tensor?
        /// `concat_latent_image`: a latent `[n, 4, h, w]` (VAE space) concatenated to the model input's
        /// channels (SVD's init image).
        public var concatLatentImage: Tensor?
        /// SVD's micro-conditioning (`fps`, `motion_bucket_id`, `augmentation_level`).
        public var video: VideoConditioning?

        public init(_ cond: Tensor, pooled: Tensor?, concatLatentImage: Tensor? = nil, video: VideoConditioning? = nil) {
            self.cond = cond
            self.pooled = pooled
            self.concatLatentImage = concatLatentImage
            self.video = video
        }
    }

    public var entries: [Entry]

    public init(_ entries: [Entry]) {
        self.entries = entries
    }
}

/// The values `SVD_img2vid_Conditioning` puts in a conditioning entry, which the video UNet receives as its
/// `y` vector (ComfyUI's `SVD_img2vid.encode_adm`).
public struct VideoConditioning: Sendable, Equatable {
    public var fps: Int
    public var motionBucketID: Int
    public var augmentationLevel: Double

    public init(fps: Int = 6, motionBucketID: Int = 127, augmentationLevel: Double = 0) {
        self.fps = fps
        self.motionBucketID = motionBucketID
        self.augmentationLevel = augmentationLevel
    }
}
