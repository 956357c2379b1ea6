/// The three user-facing file roots that `/view`, `/upload/image` and the image nodes address by
/// `type` (ComfyUI's `folder_paths.get_directory_by_type`).
public enum FileKind: String, Sendable, CaseIterable {
    case input
    case output
    case temp

    /// Parses the annotation suffix ComfyUI appends to file names (`"x.png [output]"`).
    ///
    /// ComfyUI drops the annotation plus one preceding character (normally the space) — this mirrors
    /// its `annotated_filepath`, including that quirk.
    /// - Returns: the bare name and the annotated kind, or the name unchanged and `nil`.
    public static func splitAnnotation(_ name: String) -> (name: String, kind: FileKind?) {
        for kind in FileKind.allCases {
            let tag = "[\(kind.rawValue)]"
            if name.hasSuffix(tag) {
                return (String(name.dropLast(tag.count + 1)), kind)
            }
        }
        return (name, nil)
    }
}
