/// ComfyUI's `folder_names_and_paths` as data (spec 1.2): for each model folder key, the directories
/// searched and the file extensions accepted. COMBO lists in `/object_info` are ``files(in:)``.
public struct ModelFolderRegistry: Sendable {
    /// Which files a folder accepts.
    public enum Extensions: Sendable, Equatable {
        /// Lowercase extensions with the dot (`".safetensors"`); `""` accepts files without one.
        case set(Set<String>)
        /// Every file.
        case any
        /// Entries are directories (diffusers); ``ModelFolderRegistry/files(in:)`` lists none.
        case folder
    }

    /// One registry entry.
    public struct Folder: Sendable {
        public var key: String
        /// Absolute search directories, in priority order.
        public var directories: [String]
        public var extensions: Extensions
    }

    /// ComfyUI's default model extension set.
    public static let modelExtensions: Set<String> = [".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"]

    /// Legacy keys accepted by lookups but not listed in ``keys``.
    public static let aliases: [String: String] = ["clip": "text_encoders", "unet": "diffusion_models"]

    /// Where a folder's default directory lives.
    private enum Root { case models, base, output }

    /// The spec 1.2 table, in its order: key, directories (root-relative), extensions.
    private static let table: [(key: String, dirs: [(Root, String)], ext: Extensions)] = {
        let e = Extensions.set(modelExtensions)
        func same(_ key: String) -> (String, [(Root, String)], Extensions) { (key, [(.models, key)], e) }
        return [
            (key: "checkpoints", dirs: [(.models, "checkpoints")], ext: e),
            (key: "configs", dirs: [(.models, "configs")], ext: .set([".yaml"])),
            same("loras"),
            same("vae"),
            same("vae_approx"),
            (key: "text_encoders", dirs: [(.models, "text_encoders"), (.models, "clip")], ext: e),
            (key: "diffusion_models", dirs: [(.models, "unet"), (.models, "diffusion_models")], ext: e),
            same("clip_vision"),
        ] + ["style_models", "embeddings", "gligen", "upscale_models", "latent_upscale_models", "hypernetworks",
             "photomaker", "model_patches", "audio_encoders", "background_removal", "frame_interpolation",
             "geometry_estimation", "optical_flow", "detection"].map { k in (key: k, dirs: [(Root.models, k)], ext: e) }
        + [
            (key: "controlnet", dirs: [(.models, "controlnet"), (.models, "t2i_adapter")], ext: e),
            (key: "diffusers", dirs: [(.models, "diffusers")], ext: .folder),
            (key: "classifiers", dirs: [(.models, "classifiers")], ext: .set([""])),
            (key: "custom_nodes", dirs: [(.base, "custom_nodes")], ext: .any),
            (key: "datasets", dirs: [(.base, "datasets")], ext: .any),
            (key: "fonts", dirs: [(.base, "fonts")], ext: .set([".ttf", ".otf"])),
        ]
    }()

    /// Non-default search paths ComfyUI appends under the output directory.
    private static let outputExtras: [(key: String, dir: String)] = [
        ("checkpoints", "checkpoints"), ("text_encoders", "clip"), ("vae", "vae"),
        ("diffusion_models", "diffusion_models"), ("loras", "loras"),
    ]

    public private(set) var folders: [Folder]
    /// Directories under `models/` that ``DataDirectories/createLayout()`` creates.
    public private(set) var modelsSubdirectories: [String]

    /// Builds the default registry for a layout.
    public init(directories: DataDirectories) {
        var folders: [Folder] = []
        var modelDirs: [String] = []
        for entry in Self.table {
            let dirs = entry.dirs.map { root, name -> String in
                switch root {
                case .models: modelDirs.append(directories.models + "/" + name); return directories.models + "/" + name
                case .base: return directories.base + "/" + name
                case .output: return directories.output + "/" + name
                }
            }
            folders.append(Folder(key: entry.key, directories: dirs, extensions: entry.ext))
        }
        for extra in Self.outputExtras {
            if let i = folders.firstIndex(where: { $0.key == extra.key }) {
                folders[i].directories.append(directories.output + "/" + extra.dir)
            }
        }
        self.folders = folders
        self.modelsSubdirectories = modelDirs
    }

    /// Folder keys in the spec's order (aliases excluded).
    public var keys: [String] { folders.map(\.key) }

    /// The folder for `key`, following the legacy aliases `clip` and `unet`.
    public func folder(_ key: String) -> Folder? {
        let key = Self.aliases[key] ?? key
        return folders.first { $0.key == key }
    }

    /// The absolute search directories for `key`, or `nil` for an unknown key.
    public func searchDirectories(_ key: String) -> [String]? { folder(key)?.directories }

    /// Adds a search directory (from `extra_model_paths.yaml`); `isDefault` puts it first.
    /// Unknown keys create a new folder accepting the default model extensions.
    public mutating func addSearchPath(_ key: String, directory: String, isDefault: Bool = false) {
        let key = Self.aliases[key] ?? key
        let dir = PathUtilities.absolute(directory)
        guard let i = folders.firstIndex(where: { $0.key == key }) else {
            folders.append(Folder(key: key, directories: [dir], extensions: .set(Self.modelExtensions)))
            return
        }
        folders[i].directories.removeAll { $0 == dir }
        if isDefault { folders[i].directories.insert(dir, at: 0) } else { folders[i].directories.append(dir) }
    }

    /// The files of a folder as relative paths with `/` separators: searched recursively, symlinks
    /// followed (loops cut), `.git` and hidden entries skipped, filtered by extension, de-duplicated
    /// across directories and sorted by code point.
    /// - Returns: the list, or `nil` for an unknown key.
    public func files(in key: String) -> [String]? {
        guard let folder = folder(key) else { return nil }
        if folder.extensions == .folder { return [] }
        var found = Set<String>()
        for dir in folder.directories where PathUtilities.fileStatus(dir).isDirectory {
            var visited = Set<String>()
            walk(dir, relative: "", extensions: folder.extensions, visited: &visited, into: &found)
        }
        return found.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// The absolute path of `name` in the first search directory that holds it, or `nil`.
    /// `name` must stay inside the directory (no `..` escapes, no symlinks out).
    public func fullPath(_ key: String, name: String) -> String? {
        guard let folder = folder(key) else { return nil }
        for dir in folder.directories {
            if let path = try? SafePath.resolve(name, in: dir), PathUtilities.fileStatus(path).isRegular { return path }
        }
        return nil
    }

    private func walk(_ dir: String, relative: String, extensions: Extensions,
                      visited: inout Set<String>, into found: inout Set<String>) {
        guard let real = PathUtilities.realPath(dir), visited.insert(real).inserted else { return }
        for name in PathUtilities.listDirectory(dir) where !name.hasPrefix(".") {
            let path = dir + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            let status = PathUtilities.fileStatus(path)
            if status.isDirectory {
                walk(path, relative: rel, extensions: extensions, visited: &visited, into: &found)
            } else if status.isRegular {
                switch extensions {
                case .any: found.insert(rel)
                case .set(let set): if set.contains(PathUtilities.pathExtension(name)) { found.insert(rel) }
                case .folder: break
                }
            }
        }
        visited.remove(real)
    }
}
