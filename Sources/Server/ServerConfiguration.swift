import FolderPaths
import TensorCore

/// Everything the server needs to know from the command line, resolved by the executable.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// When set, every route but `/health` requires it (`Authorization: <token>` or `Bearer <token>`).
    public var token: String?
    public var directories: DataDirectories
    /// Largest request body accepted, in bytes (`--max-upload-size` MB).
    public var maxUploadSize: Int
    public var multiUser: Bool
    public var frontEndRoot: String?
    public var disableMetadata: Bool
    /// History retention: at most this many finished jobs, none older than `historyMaxAgeSeconds`.
    public var historyMaxCount: Int
    public var historyMaxAgeSeconds: Int?
    /// The command line, reported in `/system_stats`.
    public var argv: [String]
    /// A job that was running when the process died is retried this many times in all.
    public var maxAttempts: Int
    /// Bytes loaded models may hold between prompts (`--cache-ram GB`); 75% of RAM when nil.
    public var modelCacheBytes: Int?
    /// The dtype diffusion-model weights are held and computed in: float32 (ComfyUI's CPU default, the parity mode)
    /// or bfloat16 (`--bf16-unet`).
    public var unetWeightType: DType

    public init(host: String = "127.0.0.1", port: Int = 8188, token: String? = nil, directories: DataDirectories,
                maxUploadSize: Int = 100 * 1024 * 1024, multiUser: Bool = false, frontEndRoot: String? = nil,
                disableMetadata: Bool = false, historyMaxCount: Int = 10000, historyMaxAgeSeconds: Int? = nil,
                argv: [String] = [], maxAttempts: Int = 2, modelCacheBytes: Int? = nil,
                unetWeightType: DType = .float32) {
        self.host = host
        self.port = port
        self.token = token
        self.directories = directories
        self.maxUploadSize = maxUploadSize
        self.multiUser = multiUser
        self.frontEndRoot = frontEndRoot
        self.disableMetadata = disableMetadata
        self.historyMaxCount = historyMaxCount
        self.historyMaxAgeSeconds = historyMaxAgeSeconds
        self.argv = argv
        self.maxAttempts = maxAttempts
        self.modelCacheBytes = modelCacheBytes
        self.unetWeightType = unetWeightType
    }
}
