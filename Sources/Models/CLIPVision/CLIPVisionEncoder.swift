import Checkpoints
import TensorCore
import TensorNN

/// The CLIP image encoder as ComfyUI runs it (`ClipVisionModel.encode_image` over
/// `CLIPVisionModelProjection`): a ViT over preprocessed pixels, the hidden states of the last and
/// second-to-last layers, and the post-layernormed class token through the visual projection.
///
/// Activations are float32 throughout; weights are held in the dtype chosen at load and converted by
/// the backend at use.
public struct CLIPVisionEncoder: Module {
    public let configuration: CLIPVisionConfiguration
    /// What loading found: every key read or ignored (a Hugging Face file's `position_ids`, text tower, …).
    public let loadReport: ParameterLoadReport
    let visionModel: CLIPVisionTransformer
    let visualProjection: Linear

    /// Builds the encoder from parameters opened by `loader` under Hugging Face names (`vision_model.…`,
    /// `visual_projection.weight` below the loader's prefix).
    ///
    /// - Throws: ``ParameterLoadError`` when a key is missing, misshapen, unreadable or unexpected.
    init(loader: ParameterLoader, configuration: CLIPVisionConfiguration) throws(ParameterLoadError) {
        self.configuration = configuration
        visionModel = CLIPVisionTransformer(loader.root("vision_model"), configuration: configuration)
        visualProjection = Linear(loader.root("visual_projection"), inFeatures: configuration.hiddenSize,
                                  outFeatures: configuration.projectionDimension, bias: false)
        loadReport = try loader.finish(module: "CLIP vision encoder")
    }

    private init(configuration: CLIPVisionConfiguration, loadReport: ParameterLoadReport,
                 visionModel: CLIPVisionTransformer, visualProjection: Linear) {
        self.configuration = configuration
        self.loadReport = loadReport
        self.visionModel = visionModel
        self.visualProjection = visualProjection
    }

    /// Parameters by Hugging Face key (`vision_model.embeddings.class_embedding`, …, `visual_projection.weight`).
    public var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("vision_model", visionModel)
        table.add("visual_projection", visualProjection)
        return table.table
    }

    /// The same encoder with every weight in `dtype` (converted once; unchanged weights are shared).
    public func converted(to dtype: DType) -> CLIPVisionEncoder {
        guard parameters.values.contains(where: { $0.dtype != dtype }) else { return self }
        let loader = ParameterLoader(source: parameters.mapValues { $0.converted(to: dtype) })
        let model = CLIPVisionTransformer(loader.root("vision_model"), configuration: configuration)
        let projection = Linear(loader.root("visual_projection"), inFeatures: configuration.hiddenSize,
                                outFeatures: configuration.projectionDimension, bias: false)
        precondition(loader.currentReport.isClean, "CLIP vision: converting the weights lost keys: \(loader.currentReport.summary())")
        return CLIPVisionEncoder(configuration: configuration, loadReport: loadReport, visionModel: model, visualProjection: projection)
    }

    /// Encodes preprocessed images (``CLIPImagePreprocessing/pixels(_:size:crop:)``).
    ///
    /// - Parameters:
    ///   - pixels: `[B, channels, imageSize, imageSize]`, normalised.
    ///   - backend: where the compute runs (call from a compute thread).
    /// - Returns: the last and second-to-last hidden states `[B, tokens, width]` and the image embeddings
    ///   `[B, projectionDimension]`.
    public func encode(pixels: Tensor, backend: some Backend) -> CLIPVisionOutput {
        let c = configuration
        precondition(pixels.rank == 4 && pixels.shape[1] == c.numChannels && pixels.shape[2] == c.imageSize
                     && pixels.shape[3] == c.imageSize,
                     "CLIP vision: pixels \(pixels.shape), expected [B, \(c.numChannels), \(c.imageSize), \(c.imageSize)]")
        let penultimate = c.numLayers - 2
        let (last, intermediate, pooled) = visionModel(pixels, intermediate: penultimate, backend: backend)
        return CLIPVisionOutput(lastHiddenState: last, penultimateHiddenState: intermediate ?? last,
                                imageEmbeds: visualProjection(pooled, backend: backend))
    }
}
