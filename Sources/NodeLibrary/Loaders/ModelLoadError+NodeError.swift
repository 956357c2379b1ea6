import Diffusion
import Workflow

extension NodeError {
    /// A model that could not be loaded, as a node error naming what the user picked.
    /// - Parameters:
    ///   - error: what went wrong (a ``ModelLoadError`` gives its code as the exception type).
    ///   - what: the user-facing subject, e.g. `checkpoint sd15.safetensors`.
    init(_ error: any Error, loading what: String) {
        if let error = error as? NodeError {
            self = error
        } else if let error = error as? ModelLoadError {
            self.init("Cannot load \(what): \(error.description)", type: "loom.ModelLoadError.\(error.code.rawValue)")
        } else {
            self.init("Cannot load \(what): \(error)", type: "loom.ModelLoadError")
        }
    }
}
