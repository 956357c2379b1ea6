#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where a saver node writes its next file (spec 4.6, ComfyUI's `get_save_image_path`).
public struct OutputPath: Sendable, Equatable {
    /// Absolute directory the files go into (created if missing).
    public var folder: String
    /// The file name stem (the last component of the prefix after substitution).
    public var filename: String
    /// The first free counter: 1 + the highest existing `<filename>_<N>…`, or 1.
    public var counter: Int
    /// The directory part of the prefix relative to the root (`""` when none), as reported in UI dicts.
    public var subfolder: String

    public init(folder: String, filename: String, counter: Int, subfolder: String) {
        self.folder = folder
        self.filename = filename
        self.counter = counter
        self.subfolder = subfolder
    }

    /// Plans the output location for `prefix` inside `outputDir`.
    ///
    /// Substitutes `%width% %height% %year% %month% %day% %hour% %minute% %second%` (local time,
    /// two-digit fields zero-padded), splits the directory part off as `subfolder`, refuses prefixes
    /// that resolve outside `outputDir`, and scans the folder for the counter: a file counts when it
    /// starts with `<filename>_` and the following `_`- or `.`-delimited token is an integer.
    /// - Parameters:
    ///   - prefix: the `filename_prefix` widget value (e.g. `"ComfyUI"`, `"video/ComfyUI"`).
    ///   - outputDir: the root (output or temp directory).
    ///   - width: substituted for `%width%`.
    ///   - height: substituted for `%height%`.
    ///   - date: the time used for the date tokens.
    /// - Throws: ``PathError`` (`.outsideBase`) when the prefix escapes `outputDir`, or the
    ///   file-system error when the folder cannot be created.
    public static func next(prefix: String, in outputDir: String, width: Int, height: Int,
                            date: Date = Date()) throws -> OutputPath {
        let expanded = prefix.contains("%") ? substitute(prefix, width: width, height: height, date: date) : prefix
        if expanded.utf8.contains(0) { throw PathError(.invalidName, "Prefix contains a NUL byte", path: prefix) }
        if expanded.hasPrefix("/") { throw PathError.outsideBase(prefix, base: outputDir) }
        // os.path.normpath, then dirname/basename.
        var parts: [String] = []
        for part in expanded.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                if parts.isEmpty || parts.last == ".." { parts.append("..") } else { parts.removeLast() }
            } else {
                parts.append(String(part))
            }
        }
        let filename = parts.last ?? ""
        let subfolder = parts.dropLast().joined(separator: "/")
        if parts.contains("..") { throw PathError.outsideBase(prefix, base: outputDir) }
        let folder = try SafePath.resolve(subfolder, in: outputDir)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let counter = (PathUtilities.listDirectory(folder).compactMap { counterValue($0, stem: filename) }.max() ?? 0) + 1
        return OutputPath(folder: folder, filename: filename, counter: counter, subfolder: subfolder)
    }

    /// The counter a file name carries for `stem`, or `nil` if it does not belong to it.
    static func counterValue(_ name: String, stem: String) -> Int? {
        guard name.hasPrefix(stem + "_") else { return nil }
        let rest = name.dropFirst(stem.count + 1)
        let token = rest.prefix { $0 != "_" && $0 != "." }
        guard !token.isEmpty, token.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(token)
    }

    /// The core savers' file name: `<stem>_<counter as 5 digits>_.<ext>` (`ComfyUI_00001_.png`).
    /// `%batch_num%` in the stem is replaced by `batchIndex` when given.
    public func fileName(counter: Int, extension ext: String = "png", batchIndex: Int? = nil) -> String {
        var stem = filename
        if let batchIndex { stem = stem.replacingOccurrences(of: "%batch_num%", with: String(batchIndex)) }
        return "\(stem)_\(String(format: "%05d", counter))_.\(ext)"
    }

    /// The absolute path of a file in ``folder``.
    public func path(of file: String) -> String { folder + "/" + file }

    /// `%width%`, `%height%` and the date tokens, as ComfyUI's `compute_vars`.
    static func substitute(_ input: String, width: Int, height: Int, date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        localtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var s = input
        s = s.replacingOccurrences(of: "%width%", with: String(width))
        s = s.replacingOccurrences(of: "%height%", with: String(height))
        s = s.replacingOccurrences(of: "%year%", with: String(tm.tm_year + 1900))
        s = s.replacingOccurrences(of: "%month%", with: two(tm.tm_mon + 1))
        s = s.replacingOccurrences(of: "%day%", with: two(tm.tm_mday))
        s = s.replacingOccurrences(of: "%hour%", with: two(tm.tm_hour))
        s = s.replacingOccurrences(of: "%minute%", with: two(tm.tm_min))
        s = s.replacingOccurrences(of: "%second%", with: two(tm.tm_sec))
        return s
    }
}
