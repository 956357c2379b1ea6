import Foundation

/// An ``EmbeddingProvider`` over embeddings folders (`models/embeddings`), resolving names as
/// ComfyUI's `load_embed` does.
///
/// `NAME` is tried as a file in each folder and each of its subfolders, first as written, then with
/// `.safetensors`, `.pt` and `.bin` appended; a name that would leave the folder (`../x`) is not
/// looked up there. The folders are searched in the order given, each before its subfolders
/// (subfolders in name order; ComfyUI's order is unspecified). The first file found decides: if
/// `vectorCount` cannot read it, the embedding is missing, as ComfyUI skips a file that fails to load.
public struct EmbeddingDirectories: EmbeddingProvider {
    /// The embeddings folders, in search order.
    public let directories: [URL]
    private let vectorCount: @Sendable (URL) -> Int?

    /// - Parameters:
    ///   - directories: the embeddings folders (missing ones are skipped).
    ///   - vectorCount: the number of vectors in an embedding file, `nil` when it cannot be read
    ///     (e.g. `{ try? TextualInversion.vectorCount(path: $0.path) }` from Models).
    public init(directories: [URL], vectorCount: @escaping @Sendable (URL) -> Int?) {
        self.directories = directories
        self.vectorCount = vectorCount
    }

    /// The file `name` refers to, if any; its path is the key ``embedding(named:)`` returns.
    public func file(named name: String) -> URL? {
        guard !name.isEmpty else { return nil }
        let manager = FileManager.default
        for directory in searchDirectories() {
            let base = directory.standardizedFileURL
            let candidate = base.appendingPathComponent(name).standardizedFileURL
            guard candidate.path.hasPrefix(base.path.hasSuffix("/") ? base.path : base.path + "/") else { continue }
            for suffix in ["", ".safetensors", ".pt", ".bin"] {
                let file = URL(fileURLWithPath: candidate.path + suffix)
                var isDirectory: ObjCBool = false
                if manager.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    return file
                }
            }
        }
        return nil
    }

    public func embedding(named name: String) -> EmbeddingLookup {
        guard let file = file(named: name), let count = vectorCount(file) else { return .missing }
        return .found(vectorCount: count, key: file.path)
    }

    /// Each folder followed by its subfolders, recursively (ComfyUI's `expand_directory_list`).
    private func searchDirectories() -> [URL] {
        var result = [URL]()
        var seen = Set<String>()
        func visit(_ directory: URL) {
            let path = directory.resolvingSymlinksInPath().path
            guard seen.insert(path).inserted else { return }
            result.append(directory)
            let children = (try? FileManager.default.contentsOfDirectory(
                at: directory, includingPropertiesForKeys: nil)) ?? []
            for child in children.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
                var isDirectory: ObjCBool = false  // follows symbolic links, as ComfyUI's os.walk(followlinks=True)
                if FileManager.default.fileExists(atPath: child.path, isDirectory: &isDirectory), isDirectory.boolValue {
                    visit(child)
                }
            }
        }
        for directory in directories { visit(directory) }
        return result
    }
}
