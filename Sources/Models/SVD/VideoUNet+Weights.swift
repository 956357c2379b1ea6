import Checkpoints
import TensorCore
import TensorNN

/// Loading the video UNet: from any ``ParameterSource`` through a ``ParameterLoader``, or from an SVD
/// single-file checkpoint, with the weights held in one dtype.
extension VideoUNet {
    /// The UNet's key prefix in an SVD single-file checkpoint.
    public static let checkpointPrefix = "model.diffusion_model."

    /// Builds the UNet from parameters opened by `loader` (its prefix is the UNet's), then checks with
    /// ``ParameterLoader/finish(module:)`` that every key was read.
    ///
    /// Parameters whose dtype is not `weightType` are converted once, here; the others are kept as the source
    /// hands them out (zero-copy from a checkpoint mapping).
    ///
    /// - Throws: `CheckpointError` `.unrecognisedModel` for a configuration the network cannot be built from;
    ///   ``ParameterLoadError`` naming every missing, misshapen, unreadable or unexpected key.
    public init(loader: ParameterLoader, configuration: VideoUNetConfiguration, weightType: DType = .float32) throws {
        try Self.validate(configuration)
        let loaded = Layers(loader.root, configuration: configuration)
        let report = try loader.finish(module: "video UNet")
        self.init(configuration: configuration, loadReport: report,
                  layers: Self.converted(loaded, configuration: configuration, to: weightType))
    }

    /// Loads the UNet from an SVD single-file checkpoint.
    ///
    /// - Parameters:
    ///   - checkpoint: the single-file checkpoint.
    ///   - configuration: the network's shape (e.g. `VideoUNetConfiguration.detect(in:prefix:)`).
    ///   - prefix: the UNet's key prefix.
    ///   - weightType: the dtype the weights are held in; stored tensors of another dtype (f16 in the released
    ///     files) are converted once at load, those already in it are borrowed from the mapping.
    /// - Throws: as ``init(loader:configuration:weightType:)``.
    public init(checkpoint: SafetensorsFile, configuration: VideoUNetConfiguration,
                prefix: String = VideoUNet.checkpointPrefix, weightType: DType = .float32) throws {
        let loader = ParameterLoader(source: CheckpointParameterSource(file: checkpoint), prefix: prefix)
        try self.init(loader: loader, configuration: configuration, weightType: weightType)
    }

    /// The same UNet with every weight held in `dtype` (converted once; those already in it are shared).
    public func converted(to dtype: DType) -> VideoUNet {
        VideoUNet(configuration: configuration, loadReport: loadReport,
                  layers: Self.converted(layers, configuration: configuration, to: dtype))
    }

    /// `layers` rebuilt from its own parameters converted to `dtype` (in parallel across tensors).
    static func converted(_ layers: Layers, configuration: VideoUNetConfiguration, to dtype: DType) -> Layers {
        guard let loader = ParameterLoader.converting(layers.parameters, to: dtype) else { return layers }
        let rebuilt = Layers(loader.root, configuration: configuration)
        precondition(loader.currentReport.isClean, "VideoUNet: converting the weights lost keys: \(loader.currentReport.summary())")
        return rebuilt
    }

    /// Checks what the network's construction assumes of `configuration`.
    ///
    /// - Throws: `CheckpointError` `.unrecognisedModel` naming the first violated assumption.
    static func validate(_ c: VideoUNetConfiguration) throws(CheckpointError) {
        func fail(_ message: String) -> CheckpointError {
            CheckpointError(.unrecognisedModel, "video UNet configuration not supported: " + message)
        }
        guard c.inChannels > 0, c.outChannels > 0, c.modelChannels > 0, !c.channelMult.isEmpty else {
            throw fail("empty channel counts or no levels")
        }
        guard c.numResBlocks.count == c.channelMult.count, c.numResBlocks.allSatisfy({ $0 >= 0 }) else {
            throw fail("\(c.numResBlocks.count) res block counts for \(c.channelMult.count) levels")
        }
        guard c.channelMult[0] == 1 else {
            throw fail("the first level's multiplier is \(c.channelMult[0]); the output convolution reads model channels")
        }
        guard c.transformerDepthMiddle >= -2 else { throw fail("middle transformer depth \(c.transformerDepthMiddle)") }
        guard c.numHeadChannels > 0 else { throw fail("\(c.numHeadChannels) channels per head") }
        guard c.useSpatialContext else { throw fail("temporal blocks without the spatial context") }
        guard !c.disableTemporalCrossAttention else { throw fail("temporal blocks without cross-attention") }
        guard c.videoKernelSize.count == 3, c.videoKernelSize.allSatisfy({ $0 > 0 && $0 % 2 == 1 }) else {
            throw fail("temporal kernel \(c.videoKernelSize) (three odd sizes)")
        }
        guard c.maxTimeEmbedPeriod > 0 else { throw fail("frame embedding period \(c.maxTimeEmbedPeriod)") }
        if let adm = c.admInChannels, adm <= 0 { throw fail("label_emb input width \(adm)") }
        for channels in Set(c.channelMult.map { $0 * c.modelChannels }) {
            guard channels > 0, channels % 32 == 0 else { throw fail("\(channels) channels do not split into 32 norm groups") }
            guard channels % c.numHeadChannels == 0 else {
                throw fail("\(channels) channels do not split into heads of \(c.numHeadChannels)")
            }
        }
        guard c.contextDim > 0 else { throw fail("no context width") }
    }
}
