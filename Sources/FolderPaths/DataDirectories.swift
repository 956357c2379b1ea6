import Foundation

/// The on-disk layout of one Loom installation (spec 1.1/1.2): the base directory and the roots for
/// models, inputs, outputs, temporary files and user data. All paths are absolute and normalised.
public struct DataDirectories: Sendable, Equatable {
    public var base: String
    public var models: String
    public var input: String
    public var output: String
    /// The effective temp directory. A `--temp-directory DIR` flag yields `DIR/temp`, as in ComfyUI.
    public var temp: String
    public var user: String
    public var customNodes: String

    /// Creates the layout; omitted directories default to children of `base`.
    /// - Parameters:
    ///   - base: the root (`--base-directory`); relative paths are taken from the current directory.
    ///   - models: `--models-directory`, default `<base>/models`.
    ///   - input: `--input-directory`, default `<base>/input`.
    ///   - output: `--output-directory`, default `<base>/output`.
    ///   - temp: `--temp-directory`; when given, the effective temp dir is `<temp>/temp`.
    ///   - user: `--user-directory`, default `<base>/user`.
    public init(base: String, models: String? = nil, input: String? = nil, output: String? = nil,
                temp: String? = nil, user: String? = nil) {
        let base = PathUtilities.absolute(base)
        self.base = base
        self.models = models.map(PathUtilities.absolute) ?? base + "/models"
        self.input = input.map(PathUtilities.absolute) ?? base + "/input"
        self.output = output.map(PathUtilities.absolute) ?? base + "/output"
        self.temp = temp.map { PathUtilities.absolute($0) + "/temp" } ?? base + "/temp"
        self.user = user.map(PathUtilities.absolute) ?? base + "/user"
        self.customNodes = base + "/custom_nodes"
    }

    /// The root directory for a `type=input|output|temp` request.
    public func directory(for kind: FileKind) -> String {
        switch kind {
        case .input: return input
        case .output: return output
        case .temp: return temp
        }
    }

    /// Creates the directory tree at start-up, as ComfyUI does: `base`, `models/<folder>` for every
    /// registry folder under `models/`, `custom_nodes`, `input`, `output`, `user`, and a fresh `temp`
    /// (deleted recursively, then recreated).
    /// - Throws: the underlying file-system error when a directory cannot be created or removed.
    public func createLayout() throws {
        let fm = FileManager.default
        var directories = [base, models, customNodes, input, output, user]
        directories += ModelFolderRegistry(directories: self).modelsSubdirectories
        for dir in directories {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try wipeTemp()
    }

    /// Deletes the temp directory recursively and recreates it empty (start-up and shutdown).
    /// - Throws: the underlying file-system error.
    public func wipeTemp() throws {
        let fm = FileManager.default
        if PathUtilities.lexists(temp) { try fm.removeItem(atPath: temp) }
        try fm.createDirectory(atPath: temp, withIntermediateDirectories: true)
    }
}
