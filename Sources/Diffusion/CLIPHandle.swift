import Checkpoints
import Foundation
import Models
import TensorCore
import Tokenizers

/// ComfyUI's CLIP socket value: a text encoder (through the model cache) and the layer it reads.
///
/// The encoder is resolved through ``ModelCache`` on use, so a handle stays small and an evicted
/// encoder is loaded again when needed. `CLIPSetLastLayer` returns a copy with another
/// ``stopAtClipLayer``; nothing is reloaded.
public struct CLIPHandle: Sendable {
    /// Where the weights live.
    public let source: CLIPSource
    /// The cache that holds the loaded encoder.
    public let cache: ModelCache
    /// `CLIPSetLastLayer`'s `stop_at_clip_layer` (−1 the last layer, −2 the penultimate, …); nil: as
    /// loaded, the final layer.
    public private(set) var stopAtClipLayer: Int?

    public init(source: CLIPSource, cache: ModelCache, stopAtClipLayer: Int? = nil) {
        self.source = source
        self.cache = cache
        self.stopAtClipLayer = stopAtClipLayer
    }

    /// A copy that reads the output of `layer` (ComfyUI `clip.clone(); clip.clip_layer(layer)`).
    public func settingLastLayer(_ layer: Int) -> CLIPHandle {
        var copy = self
        copy.stopAtClipLayer = layer
        return copy
    }

    /// The hidden state the encoder returns, for an encoder with `layerCount` layers.
    public func outputLayer(layerCount: Int) -> CLIPOutputLayer {
        guard let stopAtClipLayer else { return .last }
        return .stopAtClipLayer(stopAtClipLayer, layerCount: layerCount)
    }

    /// The cache key of the encoder.
    public var cacheKey: ModelCache.Key {
        ModelCache.Key(file: source.file, component: ModelCache.Component.clip + source.prefix)
    }

    /// The loaded encoder (from the cache, or loaded now and cached).
    ///
    /// - Throws: ``ModelLoadError`` when the file cannot be opened or the weights do not load.
    public func encoder() throws(ModelLoadError) -> CLIPTextEncoder {
        let source = self.source
        let cache = self.cache
        do {
            return try cache.value(for: cacheKey) {
                let file = try cache.mapping(source.file)
                let encoder = try source.loadEncoder(from: file)
                return (encoder, encoder.weightBytes)
            }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw ModelLoadError(.loadFailed, "the CLIP text encoder does not load", path: source.file.path, cause: "\(error)")
        }
    }

    /// `CLIPTextEncode`: tokenizes `text` with ComfyUI's SD1.x rules and encodes it.
    ///
    /// - Parameters:
    ///   - text: the prompt (emphasis syntax allowed).
    ///   - tokenizer: the CLIP tokenizer.
    ///   - backend: where the compute runs (call from a compute thread).
    /// - Returns: one entry: conditioning `[1, 77·windows, 768]` and pooled `[1, 768]`.
    /// - Throws: ``ModelLoadError`` when the encoder cannot be loaded.
    public func encode(_ text: String, tokenizer: CLIPTokenizer, backend: some Backend) throws(ModelLoadError) -> Conditioning {
        let encoder = try encoder()
        let (windows, missing) = tokenizer.tokenizeWithWeightsReporting(text)
        for name in missing {
            // ComfyUI drops a missing embedding with a warning; so does Loom.
            FileHandle.standardError.write(Data("warning: embedding:\(name) does not exist in models/embeddings, ignoring\n".utf8))
        }
        var embeddings: [String: Tensor] = [:]
        for key in Set(windows.joined().compactMap { $0.embedding?.key }) {
            do {
                embeddings[key] = try TextualInversion.load(path: key, width: encoder.configuration.transformer.hiddenSize)
            } catch {
                throw ModelLoadError(.loadFailed, "the textual-inversion embedding does not load", path: key, cause: "\(error)")
            }
        }
        do {
            try encoder.checkEmbeddings(windows, embeddings: embeddings)
        } catch {
            throw ModelLoadError(.loadFailed, "the textual-inversion embedding does not fit this text encoder", path: nil,
                                 cause: "\(error)")
        }
        let layer = outputLayer(layerCount: encoder.configuration.transformer.numLayers)
        let (conditioning, pooled) = encoder.encode(windows, layer: layer, embeddings: embeddings, backend: backend)
        return Conditioning([Conditioning.Entry(conditioning, pooled: pooled)])
    }
}
