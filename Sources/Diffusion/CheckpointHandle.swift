import Checkpoints

/// A recognised single-file checkpoint: the file and the configuration detection derived. MODEL and VAE
/// handles carry it; their weights are loaded by the samplers and VAE nodes, not by the loader.
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

    /// How the family samples by default (ComfyUI's `model_type` and `sampling_settings`).
    public var defaultSampling: ModelSampling {
        switch detected {
        case .sd1: ModelSampling()
        case .svd: ModelSampling.stableVideoDiffusion
        }
    }

    /// Channels of the latent the model denoises.
    public var latentChannels: Int {
        switch detected {
        case .sd1(let c): c.unet.inChannels
        case .svd(let c): c.unet.outChannels  // the input's other channels are the concatenated init latent
        }
    }

    /// Width of the cross-attention context.
    public var contextDim: Int {
        switch detected {
        case .sd1(let c): c.unet.contextDim
        case .svd(let c): c.unet.contextDim
        }
    }
}
