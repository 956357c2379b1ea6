import Foundation

extension DataDirectories {
    /// File extensions whose MIME type is `image/*` (Python's `mimetypes` plus common modern types);
    /// used to list LoadImage choices like ComfyUI's `filter_files_content_types(files, ["image"])`.
    public static let imageExtensions: Set<String> = [
        ".png", ".apng", ".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg", ".pjp", ".webp", ".gif", ".bmp", ".dib",
        ".tif", ".tiff", ".ico", ".svg", ".avif", ".heic", ".heif", ".jxl", ".pbm", ".pgm", ".ppm", ".pnm",
        ".psd", ".tga", ".exr", ".jp2",
    ]

    /// Extensions Python's `mimetypes` maps to `video/*` (LoadVideo's choices).
    public static let videoExtensions: Set<String> = [
        ".mp4", ".m4v", ".mov", ".qt", ".webm", ".mkv", ".avi", ".mpeg", ".mpg", ".mpe", ".m1v", ".mpa",
        ".wmv", ".flv", ".3gp", ".3g2", ".ts", ".ogv",
    ]

    /// The LoadImage choices: regular files at the top level of `input/` whose extension is an image
    /// type, sorted by code point like Python's `sorted`. Symlinks are followed but only listed when
    /// they stay inside `input/` (the loader refuses the others).
    public func inputImages() -> [String] { inputFiles(withExtensions: Self.imageExtensions) }

    /// The LoadVideo choices: like ``inputImages()`` for video extensions.
    public func inputVideos() -> [String] { inputFiles(withExtensions: Self.videoExtensions) }

    private func inputFiles(withExtensions extensions: Set<String>) -> [String] {
        PathUtilities.listDirectory(input).filter { name in
            guard extensions.contains(PathUtilities.pathExtension(name)),
                  let path = try? SafePath.resolve(name, in: input) else { return false }
            return PathUtilities.fileStatus(path).isRegular
        }.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// Resolves a possibly annotated file reference (`"x.png"`, `"sub/x.png"`, `"x.png [output]"`)
    /// to an absolute path inside its directory, like ComfyUI's `get_annotated_filepath`.
    /// - Parameters:
    ///   - name: the reference as it appears in a prompt.
    ///   - defaultKind: the directory used when the name carries no annotation.
    /// - Returns: the resolved absolute path (the file need not exist).
    /// - Throws: ``PathError`` when the reference escapes its directory or is malformed.
    public func resolveAnnotated(_ name: String, default defaultKind: FileKind = .input) throws -> String {
        let (bare, kind) = FileKind.splitAnnotation(name)
        return try SafePath.resolve(bare, in: directory(for: kind ?? defaultKind))
    }

    /// Whether an annotated reference names an existing regular file inside its directory
    /// (ComfyUI's `exists_annotated_filepath`, with containment enforced).
    public func annotatedFileExists(_ name: String, default defaultKind: FileKind = .input) -> Bool {
        guard let path = try? resolveAnnotated(name, default: defaultKind) else { return false }
        return PathUtilities.fileStatus(path).isRegular
    }
}
