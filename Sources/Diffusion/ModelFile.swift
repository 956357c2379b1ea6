#if canImport(Glibc)
import Glibc
#endif

/// The identity of a model file on disk: its path plus size and modification time, so that a file
/// replaced under the same name is a different model (and is loaded again).
public struct ModelFile: Sendable, Hashable, CustomStringConvertible {
    /// The absolute path.
    public let path: String
    /// Size in bytes when the file was looked at.
    public let size: Int
    /// Modification time in nanoseconds since the epoch.
    public let modificationTime: Int64

    public init(path: String, size: Int, modificationTime: Int64) {
        self.path = path
        self.size = size
        self.modificationTime = modificationTime
    }

    /// Reads `path`'s size and modification time.
    ///
    /// - Throws: ``ModelLoadError`` `.fileNotFound` when the path cannot be stat'ed or is not a regular file.
    public init(path: String) throws(ModelLoadError) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ModelLoadError(.fileNotFound, "no such model file", path: path)
        }
        self.init(path: path, size: Int(info.st_size),
                  modificationTime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    public var description: String { path }
}
