import Checkpoints

/// A single-file checkpoint opened (memory-mapped) and recognised: what `CheckpointLoaderSimple` needs
/// before any weight is read.
public struct LoadedCheckpoint: Sendable {
    /// The file's identity.
    public let file: ModelFile
    /// The mapping and header.
    public let safetensors: SafetensorsFile
    /// The model family and configuration read from key names and shapes.
    public let detected: DetectedModel

    public init(file: ModelFile, safetensors: SafetensorsFile, detected: DetectedModel) {
        self.file = file
        self.safetensors = safetensors
        self.detected = detected
    }
}
