import Checkpoints

/// A recognised single-file checkpoint: the file and the configuration detection derived. MODEL and VAE
/// handles carry it; their weights are loaded by the samplers and VAE nodes (part 2), not by the loader.
public struct CheckpointHandle: Sendable {
    public let file: ModelFile
    public let detected: DetectedModel

    public init(file: ModelFile, detected: DetectedModel) {
        self.file = file
        self.detected = detected
    }

    public init(_ loaded: LoadedCheckpoint) {
        self.init(file: loaded.file, detected: loaded.detected)
    }

    /// The SD1.x configuration (the only family detected so far).
    public var sd1: SD1CheckpointConfiguration {
        switch detected {
        case .sd1(let configuration): configuration
        }
    }

    /// How the family samples by default (ComfyUI's `model_type` and `sampling_settings`).
    public var defaultSampling: ModelSampling {
        switch detected {
        case .sd1: ModelSampling()
        }
    }

    /// Channels of the latent the model denoises.
    public var latentChannels: Int {
        switch detected {
        case .sd1(let c): c.unet.inChannels
        }
    }

    /// Width of the cross-attention context.
    public var contextDim: Int {
        switch detected {
        case .sd1(let c): c.unet.contextDim
        }
    }
}
