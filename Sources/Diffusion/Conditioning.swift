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
        /// `strength`: the weight of this entry's prediction where it applies (`ConditioningSetArea…`).
        public var strength: Float = 1
        /// `area`: the part of the latent this entry applies to (`ConditioningSetArea`, `…Percentage`).
        public var area: ConditioningArea?
        /// `mask` `[B, H, W]` (any size; resized to the latent): a per-position weight (`ConditioningSetMask`).
        public var mask: Tensor?
        /// `mask_strength`: the factor on ``mask``.
        public var maskStrength: Float = 1
        /// `set_area_to_bounds`: run the entry only on the bounding box of its ``mask``.
        public var setAreaToBounds = false
        /// `start_percent` / `end_percent`: the part of the sampling this entry is used in
        /// (`ConditioningSetTimestepRange`).
        public var startPercent: Double?
        public var endPercent: Double?

        public init(_ cond: Tensor, pooled: Tensor?, concatLatentImage: Tensor? = nil, video: VideoConditioning? = nil) {
            self.cond = cond
            self.pooled = pooled
            self.concatLatentImage = concatLatentImage
            self.video = video
        }
    }

    public var entries: [Entry]

    /// Whether an entry carries options that change how the sampler weighs it (area, mask, strength, timestep range).
    public var hasRegionalOptions: Bool {
        entries.contains { $0.strength != 1 || $0.area != nil || $0.mask != nil || $0.startPercent != nil || $0.endPercent != nil }
    }

    /// ComfyUI's `node_helpers.conditioning_set_values`: every entry with `change` applied.
    public func updatingEntries(_ change: (inout Entry) -> Void) -> Conditioning {
        Conditioning(entries.map { entry in
            var copy = entry
            change(&copy)
            return copy
        })
    }

    public init(_ entries: [Entry]) {
        self.entries = entries
    }
}

/// Where a conditioning entry applies (ComfyUI's `area` tuple).
public enum ConditioningArea: Sendable, Equatable {
    /// In latent cells: `(height // 8, width // 8, y // 8, x // 8)` of the pixel values `ConditioningSetArea` takes.
    case latent(height: Int, width: Int, y: Int, x: Int)
    /// Fractions of the latent's height and width (`ConditioningSetAreaPercentage`), resolved when sampling starts.
    case percentage(height: Double, width: Double, y: Double, x: Double)
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
