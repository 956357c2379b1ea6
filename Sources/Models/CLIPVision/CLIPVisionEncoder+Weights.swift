import Checkpoints
import TensorCore
import TensorNN

/// Loading the CLIP vision tower from a checkpoint in either key layout.
extension CLIPVisionEncoder {
    /// The tower's prefix in SVD checkpoints (OpenCLIP layout).
    public static let svdPrefix = "conditioner.embedders.0.open_clip.model.visual."

    /// Loads the encoder from a checkpoint file, zero-copy where `weightType` is the stored dtype.
    ///
    /// The layout is read from the keys: OpenCLIP's `conv1.weight` under `prefix` (SVD checkpoints,
    /// OpenCLIP files with prefix `visual.`), otherwise Hugging Face's `vision_model.…` (standalone
    /// CLIP-vision files, prefix "").
    ///
    /// - Parameters:
    ///   - checkpoint: the file.
    ///   - prefix: the tower's key prefix, e.g. ``svdPrefix`` or "".
    ///   - configuration: the tower's shape (``CLIPVisionConfiguration/detect(in:prefix:)``).
    ///   - weightType: the dtype weights are held in (float32: converted once at load).
    /// - Throws: ``ParameterLoadError`` naming missing, misshapen, unreadable and unexpected keys as the
    ///   file names them.
    public init(checkpoint: SafetensorsFile, prefix: String, configuration: CLIPVisionConfiguration,
                weightType: DType = .float32) throws {
        let layout = CLIPVisionConfiguration.layout(in: checkpoint.shapes, prefix: prefix) ?? .huggingFace
        let keys = CLIPVisionKeyLayout(layout, prefix: prefix, configuration: configuration)
        try self.init(keys: keys, source: keys.source(checkpoint), configuration: configuration, weightType: weightType)
    }

    /// Loads the encoder from any parameter source (e.g. a dictionary of tensors) in either layout.
    ///
    /// - Throws: ``ParameterLoadError`` as ``init(checkpoint:prefix:configuration:weightType:)``.
    public init(source: any ParameterSource, prefix: String, configuration: CLIPVisionConfiguration,
                weightType: DType = .float32) throws {
        var shapes: [String: [Int]] = [:]
        for key in source.parameterKeys where key.hasPrefix(prefix) { shapes[key] = source.parameterShape(key) }
        let layout = CLIPVisionConfiguration.layout(in: shapes, prefix: prefix) ?? .huggingFace
        let keys = CLIPVisionKeyLayout(layout, prefix: prefix, configuration: configuration)
        try self.init(keys: keys, source: keys.wrap(RenamedParameterSource(base: source, rules: keys.rules)),
                      configuration: configuration, weightType: weightType)
    }

    private init(keys: CLIPVisionKeyLayout, source: any ParameterSource, configuration: CLIPVisionConfiguration,
                 weightType: DType) throws {
        let loader = ParameterLoader(source: source, prefix: keys.prefix, ignoring: keys.isIgnored)
        do {
            self = try CLIPVisionEncoder(loader: loader, configuration: configuration).converted(to: weightType)
        } catch {
            throw keys.inFileKeys(error)
        }
    }
}
