import Checkpoints
import Models
import TensorCore

/// ComfyUI's CLIP_VISION socket value: an image tower in a checkpoint (SVD's OpenCLIP ViT-H/14) or a standalone
/// file (`CLIPVisionLoader`), loaded through ``cache`` when a node encodes an image.
public struct CLIPVisionHandle: Sendable {
    public let file: ModelFile
    /// The tower's key prefix in ``file``.
    public let prefix: String
    public let configuration: CLIPVisionConfiguration
    public let cache: ModelCache

    public init(file: ModelFile, prefix: String, configuration: CLIPVisionConfiguration, cache: ModelCache) {
        self.file = file
        self.prefix = prefix
        self.configuration = configuration
        self.cache = cache
    }

    /// Prefixes tried, in order, for a standalone CLIP-vision file (Hugging Face's layout at the top level,
    /// OpenCLIP's under `visual.`, or an SVD checkpoint's tower).
    public static let standalonePrefixes = ["", "visual.", SVDCheckpointConfiguration.Component.clipVision.prefix]

    /// Recognises the image tower of a standalone file.
    ///
    /// - Throws: ``ModelLoadError`` `.unsupportedModel` when no known tower is found.
    public static func standalone(file: ModelFile, safetensors: SafetensorsFile, cache: ModelCache) throws(ModelLoadError) -> CLIPVisionHandle {
        let shapes = StateDictShapes(safetensors)
        for prefix in standalonePrefixes {
            do {
                if let configuration = try CLIPVisionConfiguration.detect(in: shapes, prefix: prefix) {
                    return CLIPVisionHandle(file: file, prefix: prefix, configuration: configuration, cache: cache)
                }
            } catch {
                throw ModelLoadError(.unsupportedModel, "not a CLIP vision model: \(error.message)", path: file.path)
            }
        }
        throw ModelLoadError(.unsupportedModel, "no CLIP vision model found (no vision_model.embeddings or visual.conv1 keys)",
                             path: file.path)
    }

    /// The dtype the tower's weights are held in (ComfyUI's CPU default for text and image encoders).
    public static let weightType = DType.float16

    public var cacheKey: ModelCache.Key { ModelCache.Key(file: file, component: "clip_vision:" + prefix) }

    /// The loaded tower (from the cache, or loaded now and cached).
    ///
    /// - Throws: ``ModelLoadError`` `.loadFailed` naming the keys that do not match.
    public func encoder() throws(ModelLoadError) -> CLIPVisionEncoder {
        let file = self.file, prefix = self.prefix, configuration = self.configuration, cache = self.cache
        do {
            return try cache.value(for: cacheKey) {
                let mapping = try cache.mapping(file)
                defer { mapping.mapping.releaseResidentPages() }
                // ComfyUI holds CLIP vision in float16 on the CPU (`text_encoder_dtype`) and widens each weight at
                // use: the same numbers as float32 weights from a float16 file, at half the memory. A float16 file's
                // weights stay in the mapping (zero-copy), so they are resident only while an image is encoded.
                let encoder = try CLIPVisionEncoder(checkpoint: mapping, prefix: prefix, configuration: configuration,
                                                    weightType: Self.weightType)
                return (encoder, encoder.residentBytes)
            }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw ModelLoadError(.loadFailed, "the CLIP vision model does not load", path: file.path, cause: "\(error)")
        }
    }

    /// ComfyUI's `ClipVisionModel.encode_image`: an IMAGE batch `[B, H, W, C]` in 0…1, resized (and with `crop`
    /// center-cropped) to the tower's input size and normalised, through the tower.
    public func encode(_ image: Tensor, crop: Bool, backend: any Backend) throws(ModelLoadError) -> CLIPVisionOutput {
        let encoder = try encoder()
        let pixels = CLIPImagePreprocessing.pixels(image, size: configuration.imageSize, crop: crop)
        let output = encoder.encode(pixels: pixels, backend: backend)
        // The encode faulted the tower's mapped weights in; drop them again (they refault from the page cache at
        // the next encode) rather than keep them resident through sampling and decoding. Only a mapping the cache
        // still holds is released: reopening the file for this would cost more than it saves.
        cache.openMapping(file)?.mapping.releaseResidentPages()
        return output
    }
}
