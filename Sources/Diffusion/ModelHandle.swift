import Checkpoints
import Models
import TensorCore
import TensorNN

/// ComfyUI's MODEL socket value: the denoising UNet of a checkpoint and how it is sampled. Nothing is
/// loaded by the handle itself: ``unet()`` loads the weights through ``cache`` when a sampler needs them.
public struct ModelHandle: Sendable {
    public let checkpoint: CheckpointHandle
    public let cache: ModelCache
    /// The noise schedule and parameterisation (eps for SD1.x; `ModelSamplingDiscrete` nodes replace it).
    public var sampling: ModelSampling
    /// The dtype the UNet's weights are held in: float32 (ComfyUI's CPU mode, the parity mode) or bfloat16.
    public var weightType: DType
    /// A replacement guidance formula (`VideoLinearCFGGuidance`), nil for ComfyUI's default CFG.
    public var cfgFunction: CFGFunction?

    public init(checkpoint: CheckpointHandle, cache: ModelCache, sampling: ModelSampling? = nil,
                weightType: DType = .float32, cfgFunction: CFGFunction? = nil) {
        self.checkpoint = checkpoint
        self.cache = cache
        self.sampling = sampling ?? checkpoint.defaultSampling
        self.weightType = weightType
        self.cfgFunction = cfgFunction
    }

    /// Channels of the latent the model denoises (what `EmptyLatentImage` and the samplers must supply).
    public var latentChannels: Int { checkpoint.latentChannels }

    /// Width of the cross-attention context the conditioning must have.
    public var contextDim: Int { checkpoint.contextDim }

    /// The network the sampler's guider runs (loaded through the cache).
    ///
    /// - Throws: ``ModelLoadError`` `.loadFailed` naming the keys that do not match.
    public func network() throws(ModelLoadError) -> any GuidedNetwork {
        switch checkpoint.detected {
        case .sd1: try unet()
        case .svd: try videoUNet()
        }
    }

    /// The cache key of the loaded UNet.
    public var cacheKey: ModelCache.Key {
        ModelCache.Key(file: checkpoint.file, component: "unet:\(weightType)")
    }

    /// The loaded SD1.x UNet (from the cache, or loaded now and cached).
    ///
    /// - Throws: ``ModelLoadError`` `.loadFailed` naming the keys that do not match, or when the checkpoint is
    ///   not an SD1.x one.
    public func unet() throws(ModelLoadError) -> SD1UNet {
        guard case .sd1(let configuration) = checkpoint.detected else {
            throw ModelLoadError(.unsupportedModel, "not an SD1.x checkpoint", path: checkpoint.file.path)
        }
        return try load("the UNet") { file, weightType in
            let unet = try SD1UNet(checkpoint: file, configuration: configuration.unet, weightType: weightType)
            return (unet, unet.residentBytes)
        }
    }

    /// The loaded Stable Video Diffusion UNet (from the cache, or loaded now and cached).
    ///
    /// - Throws: ``ModelLoadError`` `.loadFailed` naming the keys that do not match, or when the checkpoint is
    ///   not an SVD one.
    public func videoUNet() throws(ModelLoadError) -> VideoUNet {
        guard case .svd(let configuration) = checkpoint.detected else {
            throw ModelLoadError(.unsupportedModel, "not a Stable Video Diffusion checkpoint", path: checkpoint.file.path)
        }
        return try load("the video UNet") { file, weightType in
            let unet = try VideoUNet(checkpoint: file, configuration: configuration.unet,
                                     prefix: SVDCheckpointConfiguration.Component.unet.prefix, weightType: weightType)
            return (unet, unet.residentBytes)
        }
    }

    private func load<Value: Sendable>(
        _ what: String, _ make: @escaping @Sendable (SafetensorsFile, DType) throws -> (Value, Int)
    ) throws(ModelLoadError) -> Value {
        let checkpoint = self.checkpoint, cache = self.cache, weightType = self.weightType
        do {
            return try cache.value(for: cacheKey) {
                let file = try cache.mapping(checkpoint.file)
                // The weights are copies now (converted to weightType): the mapped pages need not stay resident.
                defer { file.mapping.releaseResidentPages() }
                return try make(file, weightType)
            }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw ModelLoadError(.loadFailed, "\(what) does not load", path: checkpoint.file.path, cause: "\(error)")
        }
    }
}

/// ComfyUI's VAE socket value: an autoencoder in a checkpoint (`first_stage_model.`) or a standalone
/// file (`VAELoader`), not loaded yet: the VAE nodes load it through ``cache``.
public struct VAEHandle: Sendable {
    public let file: ModelFile
    /// The autoencoder's key prefix in ``file``.
    public let prefix: String
    public let configuration: AutoencoderKLConfiguration
    public let cache: ModelCache

    public init(file: ModelFile, prefix: String, configuration: AutoencoderKLConfiguration, cache: ModelCache) {
        self.file = file
        self.prefix = prefix
        self.configuration = configuration
        self.cache = cache
    }

    /// The VAE of a checkpoint.
    public init(checkpoint: CheckpointHandle, cache: ModelCache) {
        switch checkpoint.detected {
        case .sd1(let c):
            self.init(file: checkpoint.file, prefix: SD1CheckpointConfiguration.Component.vae.prefix, configuration: c.vae,
                      cache: cache)
        case .svd(let c):
            self.init(file: checkpoint.file, prefix: SVDCheckpointConfiguration.Component.vae.prefix, configuration: c.vae,
                      cache: cache)
        }
    }

    /// Spatial compression between pixels and latents (8 for the SD VAE).
    public var downscale: Int { 1 << max(0, configuration.channelMult.count - 1) }

    public var cacheKey: ModelCache.Key { ModelCache.Key(file: file, component: "vae:" + prefix) }

    /// The loaded autoencoder (from the cache, or loaded now and cached).
    ///
    /// - Throws: ``ModelLoadError`` `.loadFailed` naming the keys that do not match.
    public func autoencoder() throws(ModelLoadError) -> AutoencoderKL {
        let file = self.file, prefix = self.prefix, configuration = self.configuration, cache = self.cache
        do {
            return try cache.value(for: cacheKey) {
                let mapping = try cache.mapping(file)
                defer { mapping.mapping.releaseResidentPages() }
                let vae = try AutoencoderKL(checkpoint: mapping, configuration: configuration, prefix: prefix)
                return (vae, vae.residentBytes)
            }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw ModelLoadError(.loadFailed, "the VAE does not load", path: file.path, cause: "\(error)")
        }
    }
}

extension ModelCache {
    /// The mapping of `file`: the cached checkpoint's when it was opened as one, else the bare file's.
    public func mapping(_ file: ModelFile) throws(ModelLoadError) -> SafetensorsFile {
        if let loaded = lookup(Key(file: file, component: Component.checkpoint), as: LoadedCheckpoint.self) {
            return loaded.safetensors
        }
        return try safetensors(file)
    }

    /// The mapping of `file` when the cache holds one open (as a checkpoint or a bare file); nothing is opened.
    public func openMapping(_ file: ModelFile) -> SafetensorsFile? {
        lookup(Key(file: file, component: Component.checkpoint), as: LoadedCheckpoint.self)?.safetensors
            ?? lookup(Key(file: file, component: Component.safetensors), as: SafetensorsFile.self)
    }
}

extension Module {
    /// Bytes the parameters occupy in memory the module owns (converted or copied weights); weights
    /// borrowed read-only from a file's mapping live in the page cache and are not counted.
    public var residentBytes: Int {
        parameters.values.reduce(0) { sum, tensor in
            tensor.storage.isReadOnly ? sum : sum + tensor.count * tensor.dtype.byteSize
        }
    }
}
