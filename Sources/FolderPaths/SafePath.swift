/// Resolves user-supplied relative paths inside a base directory, refusing anything that escapes it.
///
/// Every file name that arrives over HTTP or in a prompt (`/view`, `/upload/image`, `LoadImage`,
/// `filename_prefix`) goes through here. The check is made on the *resolved* path — lexical
/// normalisation first, then `realpath` of the longest existing prefix — so `..` segments, absolute
/// paths and symlinks that point out of the base are all caught, while symlinks that stay inside
/// are allowed.
public enum SafePath {
    /// Joins `relative` to `base`, normalises it, resolves symlinks and checks containment.
    ///
    /// Empty components and `.` are ignored; `..` pops a component and fails if it would climb above
    /// `base`. Components that do not exist yet are appended lexically after the resolved prefix, so
    /// the function also works for files about to be created. A dangling symlink on the way is
    /// refused because its target cannot be checked.
    /// - Parameters:
    ///   - relative: a path relative to `base` (`""` means `base` itself).
    ///   - base: the directory the result must stay in.
    /// - Returns: the absolute, symlink-free path.
    /// - Throws: ``PathError`` with code `.outsideBase` on escape, `.invalidName` on NUL bytes.
    public static func resolve(_ relative: String, in base: String) throws -> String {
        if relative.utf8.contains(0) || base.utf8.contains(0) {
            throw PathError(.invalidName, "Path contains a NUL byte", path: relative)
        }
        if relative.hasPrefix("/") { throw PathError.outsideBase(relative, base: base) }
        var components: [String] = []
        for part in relative.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if components.isEmpty { throw PathError.outsideBase(relative, base: base) }
                components.removeLast()
                continue
            }
            components.append(String(part))
        }
        let absoluteBase = PathUtilities.absolute(base)
        let realBase = PathUtilities.realPath(absoluteBase) ?? absoluteBase
        let resolved = try resolveExisting(prefix: realBase, components: components, original: relative)
        guard isInside(resolved, base: realBase) else { throw PathError.outsideBase(relative, base: base) }
        return resolved
    }

    /// Whether `name` is usable as a single file name: non-empty, not `.`/`..`, no `/` and no NUL.
    public static func isSafeComponent(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0)
    }

    /// Whether `path` equals `base` or lies below it (both absolute and normalised).
    public static func isInside(_ path: String, base: String) -> Bool {
        if base == "/" { return path.hasPrefix("/") }
        return path == base || path.hasPrefix(base + "/")
    }

    /// Resolves symlinks through the longest existing prefix of `prefix/components…`.
    private static func resolveExisting(prefix: String, components: [String], original: String) throws -> String {
        var current = prefix
        for (index, component) in components.enumerated() {
            let next = PathUtilities.join(current, component)
            if let real = PathUtilities.realPath(next) {
                current = real
                continue
            }
            if PathUtilities.lexists(next) {
                throw PathError(.outsideBase, "Path goes through a dangling symlink", path: original)
            }
            // The rest does not exist: nothing below can be a symlink.
            return components[index...].reduce(current) { PathUtilities.join($0, $1) }
        }
        return current
    }
}
