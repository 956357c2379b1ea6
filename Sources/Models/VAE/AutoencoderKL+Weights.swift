import Checkpoints
import TensorCore
import TensorNN

/// Where the autoencoder's weights live: under `first_stage_model.` in a single-file checkpoint, at the top
/// level in a standalone VAE file (`VAELoader`).
extension AutoencoderKL {
    /// The VAE's key prefix in an SD1.x single-file checkpoint.
    public static let checkpointPrefix = SD1CheckpointConfiguration.Component.vae.prefix  // first_stage_model.

    /// Keys under the prefix that no parameter reads: the training loss's weights (`loss.…`, e.g. the
    /// discriminator and LPIPS network some VAE files carry), EMA copies, and the checkpoint-wide buffers.
    public static func isIgnored(_ key: String, prefix: String) -> Bool {
        let relative = key.dropFirst(prefix.count)
        return relative.hasPrefix("loss.") || relative.hasPrefix("model_ema.") || SD1CheckpointConfiguration.isIgnored(key)
    }

    /// Loads the autoencoder from a safetensors file.
    ///
    /// - Parameters:
    ///   - checkpoint: a single-file checkpoint, or a standalone VAE file with `prefix` "".
    ///   - configuration: the layout, e.g. from `AutoencoderKLConfiguration.detect(in:prefix:)`.
    ///   - prefix: `first_stage_model.` for single-file checkpoints, "" for standalone VAE files.
    ///   - weightType: the dtype the weights are kept in; stored weights of another dtype are converted once.
    /// - Throws: ``ParameterLoadError`` listing missing, misshapen, unreadable and unexpected keys under `prefix`.
    public init(checkpoint: SafetensorsFile, configuration: AutoencoderKLConfiguration,
                prefix: String = AutoencoderKL.checkpointPrefix, weightType: DType = .float32) throws {
        let loader = ParameterLoader(source: CheckpointParameterSource(file: checkpoint), prefix: prefix,
                                     ignoring: { AutoencoderKL.isIgnored($0, prefix: prefix) })
        try self.init(loader: loader, configuration: configuration, weightType: weightType)
    }
}
