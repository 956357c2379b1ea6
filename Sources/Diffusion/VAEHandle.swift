import Checkpoints

/// ComfyUI's VAE socket value: the autoencoder of a checkpoint, not loaded yet (lazy: the VAE nodes
/// load it through ``cache``).
public struct VAEHandle: Sendable {
    public let checkpoint: CheckpointHandle
    public let cache: ModelCache

    public init(checkpoint: CheckpointHandle, cache: ModelCache) {
        self.checkpoint = checkpoint
        self.cache = cache
    }

    /// The autoencoder's configuration as detected.
    public var configuration: AutoencoderKLConfiguration { checkpoint.sd1.vae }
}
