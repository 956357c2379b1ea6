import Checkpoints

/// ComfyUI's MODEL socket value: the denoising UNet of a checkpoint, not loaded yet (lazy: the
/// sampler loads it through ``cache``).
public struct ModelHandle: Sendable {
    public let checkpoint: CheckpointHandle
    public let cache: ModelCache

    public init(checkpoint: CheckpointHandle, cache: ModelCache) {
        self.checkpoint = checkpoint
        self.cache = cache
    }

    /// The UNet's configuration as detected.
    public var configuration: SD1UNetConfiguration { checkpoint.sd1.unet }
}
