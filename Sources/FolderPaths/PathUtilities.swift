#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Small POSIX helpers shared by the folder-path types. Internal: callers use the public types.
enum PathUtilities {
    /// Lexically normalises an absolute path: collapses `//`, `.` and `..` (`..` at the root stays at
    /// the root), drops a trailing slash.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Makes `path` absolute against the current directory, then normalises it.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        return normalize(FileManager.default.currentDirectoryPath + "/" + path)
    }

    /// Joins a directory and a relative path with one `/`.
    static func join(_ directory: String, _ relative: String) -> String {
        if relative.isEmpty { return directory }
        if directory.hasSuffix("/") { return directory + relative }
        return directory + "/" + relative
    }

    /// `realpath(3)`: the canonical path with every symlink resolved, or `nil` if it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` exists (following symlinks); `isDirectory` tells which.
    static func fileStatus(_ path: String) -> (exists: Bool, isDirectory: Bool, isRegular: Bool) {
        var st = stat()
        guard posixStat(path, &st) == 0 else { return (false, false, false) }
        let type = st.st_mode & S_IFMT
        return (true, type == S_IFDIR, type == S_IFREG)
    }

    /// Whether something (possibly a dangling symlink) sits at `path`, without following symlinks.
    static func lexists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Names in a directory, without `.` and `..`; empty if it cannot be read.
    static func listDirectory(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    /// The lowercase extension including the dot (`".png"`), or `""` when there is none — the same
    /// as Python's `os.path.splitext(name)[1].lower()` (a leading dot does not start an extension).
    static func pathExtension(_ name: String) -> String {
        let base = name.split(separator: "/").last.map(String.init) ?? name
        let trimmed = base.drop { $0 == "." }
        guard let dot = trimmed.lastIndex(of: ".") else { return "" }
        return String(trimmed[dot...]).lowercased()
    }
}

/// `stat(2)`; a free function so the call is not taken for the `stat` struct's initialiser.
private func posixStat(_ path: String, _ buffer: UnsafeMutablePointer<stat>) -> Int32 {
    stat(path, buffer)
}
