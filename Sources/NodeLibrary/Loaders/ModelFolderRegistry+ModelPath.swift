import Diffusion
import FolderPaths

extension ModelFolderRegistry {
    /// The file a loader's COMBO value names, as ComfyUI's `get_full_path` finds it: the first search
    /// directory of `key` holding `name`, following symlinks placed in the model folders (a common way
    /// to share model files), unlike ``fullPath(_:name:)``, which refuses links out of the folder.
    ///
    /// `name` must be relative and free of `..` components, so a prompt cannot reach outside the
    /// folders; validation has already checked it is one of ``files(in:)``.
    /// - Returns: the file's identity, or nil when no search directory holds a regular file of that name.
    func modelFile(_ key: String, name: String) -> ModelFile? {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !name.utf8.contains(0),
              !components.contains(where: { $0 == ".." || $0.isEmpty }) else { return nil }
        for directory in searchDirectories(key) ?? [] {
            if let file = try? ModelFile(path: directory + "/" + name) { return file }
        }
        return nil
    }
}
