import Checkpoints
import TensorCore
import TensorNN

/// Loading the UNet: from any ``ParameterSource`` through a ``ParameterLoader``, or from an SD1.x
/// single-file checkpoint, with the weights held in one dtype.
extension SD1UNet {
    /// The UNet's key prefix in an SD1.x single-file checkpoint.
    public static let checkpointPrefix = SD1CheckpointConfiguration.Component.unet.prefix  // model.diffusion_model.

    /// Builds the UNet from parameters opened by `loader` (its prefix is the UNet's), then checks with
    /// ``ParameterLoader/finish(module:)`` that every key was read.
    ///
    /// Parameters whose dtype is not `weightType` are converted once, here; the others are kept as the source
    /// hands them out (zero-copy from a checkpoint mapping).
    ///
    /// - Parameters:
    ///   - loader: the parameter source and the UNet's key prefix.
    ///   - configuration: the network's shape.
    ///   - weightType: the dtype the weights are held and computed from (float32, as the reference runs SD1.x
    ///     on the CPU; bfloat16 or float16 to halve the memory).
    /// - Throws: `CheckpointError` `.unrecognisedModel` for a configuration the network cannot be built from;
    ///   ``ParameterLoadError`` naming every missing, misshapen, unreadable or unexpected key.
    public init(loader: ParameterLoader, configuration: SD1UNetConfiguration, weightType: DType = .float32) throws {
        try Self.validate(configuration)
        let loaded = Layers(loader.root, configuration: configuration)
        let report = try loader.finish(module: "SD1 UNet")
        self.init(configuration: configuration, loadReport: report,
                  layers: Self.converted(loaded, configuration: configuration, to: weightType))
    }

    /// Loads the UNet from an SD1.x single-file checkpoint.
    ///
    /// - Parameters:
    ///   - checkpoint: the single-file checkpoint.
    ///   - configuration: the network's shape (e.g. `SD1UNetConfiguration.detect(in:prefix:)`).
    ///   - prefix: the UNet's key prefix.
    ///   - weightType: the dtype the weights are held in; stored tensors of another dtype (f16 in most SD1.x
    ///     files) are converted once at load, those already in it are borrowed from the mapping.
    /// - Throws: as ``init(loader:configuration:weightType:)``.
    public init(checkpoint: SafetensorsFile, configuration: SD1UNetConfiguration,
                prefix: String = SD1UNet.checkpointPrefix, weightType: DType = .float32) throws {
        let source = CheckpointParameterSource(file: checkpoint, rules: SD1CheckpointConfiguration.keyRules)
        let loader = ParameterLoader(source: source, prefix: prefix, ignoring: SD1CheckpointConfiguration.isIgnored)
        try self.init(loader: loader, configuration: configuration, weightType: weightType)
    }

    /// The same UNet with every weight held in `dtype` (converted once; those already in it are shared).
    public func converted(to dtype: DType) -> SD1UNet {
        SD1UNet(configuration: configuration, loadReport: loadReport,
                layers: Self.converted(layers, configuration: configuration, to: dtype))
    }

    /// `layers` rebuilt from its own parameters converted to `dtype` (in parallel across tensors).
    static func converted(_ layers: Layers, configuration: SD1UNetConfiguration, to dtype: DType) -> Layers {
        guard let loader = ParameterLoader.converting(layers.parameters, to: dtype) else { return layers }
        let rebuilt = Layers(loader.root, configuration: configuration)
        precondition(loader.currentReport.isClean, "SD1UNet: converting the weights lost keys: \(loader.currentReport.summary())")
        return rebuilt
    }

    /// Checks what the network's construction assumes of `configuration`.
    ///
    /// - Throws: `CheckpointError` `.unrecognisedModel` naming the first violated assumption.
    static func validate(_ c: SD1UNetConfiguration) throws(CheckpointError) {
        func fail(_ message: String) -> CheckpointError {
            CheckpointError(.unrecognisedModel, "UNet configuration not supported: " + message)
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
        guard c.admInChannels == nil else { throw fail("class/ADM conditioning (label_emb) is not an SD1.x input") }
        for channels in Set(c.channelMult.map { $0 * c.modelChannels }) {
            guard channels > 0, channels % 32 == 0 else { throw fail("\(channels) channels do not split into 32 norm groups") }
            let heads = c.heads(channels: channels)
            guard heads > 0, channels % heads == 0 else { throw fail("\(channels) channels do not split into \(heads) heads") }
        }
        let usesContext = c.transformerDepth.contains { $0 > 0 } || c.transformerDepthOutput.contains { $0 > 0 }
            || c.transformerDepthMiddle >= 0
        guard !usesContext || c.contextDim > 0 else { throw fail("transformers with no context width") }
    }
}
