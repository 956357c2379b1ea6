import Diffusion
import FolderPaths
import TensorCore
import Workflow

/// What the built-in nodes need from the server: directories, flags and resource limits.
/// Built once by the composition root and captured by the node definitions.
public struct NodeEnvironment: Sendable {
    /// The data directories (input, output, temp, models, …).
    public var directories: DataDirectories
    /// `--disable-metadata`: savers write no prompt/workflow text chunks.
    public var disableMetadata: Bool
    /// Refusal threshold for tensors a node would allocate: width × height × batch.
    /// The default, 2^28, is one 16384×16384 image (3 GiB as float RGB).
    public var maxPixels: Int

    /// Where tensor compute runs. Only the executable picks it (the fast `CPUBackend`); the default is
    /// the naive ``ReferenceBackend``, enough for tests of non-model nodes.
    public var backend: any Backend
    /// Loaded models kept between prompts (emptied by `POST /free`).
    public var models: ModelCache
    /// The model folders (`checkpoints`, `text_encoders`, …) the loaders list and resolve names in.
    public var modelFolders: ModelFolderRegistry
    /// The CLIP tokenizer, loaded on first use and shared by every text-encode node.
    public var tokenizers: TokenizerProvider
    /// The dtype the loaders hold diffusion-model weights in (`--bf16-unet`): float32 by default, as ComfyUI on a CPU.
    public var unetWeightType: DType

    /// The default ``maxPixels``.
    public static let defaultMaxPixels = 1 << 28

    /// - Parameters:
    ///   - directories: the data directories.
    ///   - disableMetadata: `--disable-metadata`.
    ///   - maxPixels: the allocation refusal threshold.
    ///   - backend: the tensor backend (the executable passes `CPUBackend`).
    ///   - models: the model cache; a new one with ``ModelCache/defaultBudget()`` (75% of RAM) when nil.
    ///   - modelFolders: the model folder registry; the default layout of `directories` when nil.
    public init(directories: DataDirectories, disableMetadata: Bool = false, maxPixels: Int = NodeEnvironment.defaultMaxPixels,
                backend: any Backend = ReferenceBackend(), models: ModelCache? = nil, modelFolders: ModelFolderRegistry? = nil,
                tokenizers: TokenizerProvider? = nil, unetWeightType: DType = .float32) {
        self.directories = directories
        self.unetWeightType = unetWeightType
        self.disableMetadata = disableMetadata
        self.maxPixels = maxPixels
        self.backend = backend
        self.models = models ?? ModelCache()
        self.modelFolders = modelFolders ?? ModelFolderRegistry(directories: directories)
        self.tokenizers = tokenizers ?? TokenizerProvider(
            embeddingDirectories: self.modelFolders.searchDirectories("embeddings") ?? [])
    }

    /// `POST /free`: drops every loaded model from ``models``.
    public func freeModels() {
        models.removeAll()
        StorageBlockCache.shared.trim()
    }

    /// Throws before allocating a tensor of `width × height × batch` pixels over ``maxPixels``.
    /// - Throws: ``NodeError`` with the requested size and the limit.
    public func checkPixels(width: Int, height: Int, batch: Int = 1) throws {
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (total, o2) = wh.multipliedReportingOverflow(by: max(batch, 1))
        if width < 0 || height < 0 || o1 || o2 || total > maxPixels {
            throw NodeError("Requested image size \(width)x\(height) x \(batch) exceeds the limit of \(maxPixels) pixels",
                            type: "loom.ImageTooLarge")
        }
    }
}
