import Checkpoints

extension ModelCache {
    /// Cache component names.
    public enum Component {
        /// A ``LoadedCheckpoint`` (mapping + detection).
        public static let checkpoint = "checkpoint"
        /// A bare `SafetensorsFile` mapping (standalone component files).
        public static let safetensors = "safetensors"
        /// A `CLIPTextEncoder`; the key prefix is appended (`clip:text_model.`).
        public static let clip = "clip:"
    }

    /// Opens and recognises a checkpoint, or returns the cached one. Zero bytes are charged: the
    /// mapping is page cache; the components loaded from it are charged when they are cached.
    ///
    /// - Throws: ``ModelLoadError`` `.unreadableFile` for a malformed file, `.unsupportedModel` with the
    ///   detector's description of what it found.
    public func checkpoint(_ file: ModelFile) throws(ModelLoadError) -> LoadedCheckpoint {
        do {
            return try value(for: Key(file: file, component: Component.checkpoint)) {
                let safetensors = try Self.open(file)
                let detected: DetectedModel
                do {
                    detected = try ModelDetection.detect(safetensors)
                } catch let error as CheckpointError {
                    throw ModelLoadError(.unsupportedModel, error.message, path: file.path)
                }
                return (LoadedCheckpoint(file: file, safetensors: safetensors, detected: detected), 0)
            }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw ModelLoadError(.unreadableFile, "cannot load the checkpoint", path: file.path, cause: "\(error)")
        }
    }

    /// Opens a safetensors file, or returns the cached mapping (zero bytes charged).
    ///
    /// - Throws: ``ModelLoadError`` `.unreadableFile`.
    public func safetensors(_ file: ModelFile) throws(ModelLoadError) -> SafetensorsFile {
        do {
            return try value(for: Key(file: file, component: Component.safetensors)) { (try Self.open(file), 0) }
        } catch let error as ModelLoadError {
            throw error
        } catch {
            throw ModelLoadError(.unreadableFile, "cannot open the model file", path: file.path, cause: "\(error)")
        }
    }

    static func open(_ file: ModelFile) throws(ModelLoadError) -> SafetensorsFile {
        do {
            return try SafetensorsFile(path: file.path)
        } catch {
            throw ModelLoadError(.unreadableFile, "not a readable safetensors file: \(error.message)", path: file.path)
        }
    }
}
