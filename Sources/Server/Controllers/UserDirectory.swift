#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FolderPaths
import Foundation
import Workflow

/// Who a request acts for, resolved from the `Comfy-User` header (multi-user mode) or `default`.
enum UserResolution: Sendable, Equatable {
    /// A known user and the absolute, symlink-free path of their root directory (which may not exist yet).
    case user(id: String, root: String)
    /// No such user in `users.json` (or an empty header).
    case unknown
    /// A system user (`__` prefix) or an id that cannot name a directory inside the user directory.
    case forbidden
}

/// The user table (`<user dir>/users.json`) and the mapping from a request's user to its directory.
///
/// The table is read from disk on every lookup, so edits made while the server runs (and across
/// restarts) are seen; writes go through this actor one at a time and replace the file atomically.
actor UserRegistry {
    /// The directory holding `users.json` and one folder per user.
    let userDirectory: String
    let multiUser: Bool

    /// Prefix of system users, which are never reachable over HTTP.
    static let systemPrefix = "__"
    /// The only user in single-user mode.
    static let defaultUser = "default"

    init(userDirectory: String, multiUser: Bool) {
        self.userDirectory = userDirectory
        self.multiUser = multiUser
    }

    var usersFile: String { userDirectory + "/users.json" }

    /// The stored `{id: name}` table; empty when the file is missing or not a JSON object.
    func users() -> JSONObject {
        guard let data = FileManager.default.contents(atPath: usersFile),
              let object = (try? JSONValue.parse([UInt8](data)))?.objectValue else { return [:] }
        return object
    }

    /// Resolves the user a request names.
    /// - Parameter header: the `Comfy-User` header value, `nil` when absent (ignored in single-user mode).
    func resolve(header: String?) -> UserResolution {
        let id: String
        if multiUser {
            id = header ?? Self.defaultUser
            if id.hasPrefix(Self.systemPrefix) { return .forbidden }
            guard users()[id] != nil else { return .unknown }
        } else {
            id = Self.defaultUser
        }
        guard SafePath.isSafeComponent(id), let root = try? SafePath.resolve(id, in: userDirectory),
              let base = try? SafePath.resolve("", in: userDirectory), root != base else { return .forbidden }
        return .user(id: id, root: root)
    }

    /// Adds a user named `name` and returns the new id (`<sanitised name>_<uuid4>`).
    /// - Throws: ``UserNameError`` for an empty, system-prefixed or duplicate name; file errors when
    ///   `users.json` cannot be written.
    func addUser(named rawName: String) throws -> String {
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw UserNameError(message: "username not provided") }
        guard !name.hasPrefix(Self.systemPrefix) else { throw UserNameError(message: "System User prefix not allowed") }
        var table = users()
        if table.contains(where: { $0.value.stringValue == name }) { throw UserNameError(message: "Duplicate username.") }
        let id = Self.sanitisedID(name) + "_" + UUID().uuidString.lowercased()
        table[id] = .string(name)
        try UserFileIO.writeAtomically(JSONValue.object(table).serialized(pretty: true, indent: 4), to: usersFile)
        return id
    }

    /// `name` with each run of characters outside `[A-Za-z0-9_-]` replaced by one `-`.
    static func sanitisedID(_ name: String) -> String {
        var result = ""
        var inRun = false
        for scalar in name.unicodeScalars {
            let allowed = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_")
            if allowed {
                result.unicodeScalars.append(scalar)
                inRun = false
            } else if !inRun {
                result.append("-")
                inRun = true
            }
        }
        return result
    }

    /// Reads, changes and atomically rewrites `<root>/comfy.settings.json`, one change at a time.
    /// - Throws: file errors from writing.
    func updateSettings(root: String, _ change: @Sendable (inout JSONObject) -> Void) throws {
        let path = root + "/" + UserFileIO.settingsFile
        var settings = UserFileIO.readSettings(inside: root)
        change(&settings)
        try UserFileIO.writeAtomically(JSONValue.object(settings).serialized(pretty: true, indent: 4), to: path)
    }
}

/// A user name `POST /users` refuses.
struct UserNameError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A file operation on user data that failed; `message` is safe to show to the client.
struct UserFileError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// File helpers for user data: atomic writes, listings, times.
enum UserFileIO {
    static let settingsFile = "comfy.settings.json"

    /// The settings object at `path`; empty when missing, unreadable or not a JSON object.
    static func readSettings(_ path: String) -> JSONObject {
        guard let data = FileManager.default.contents(atPath: path),
              let object = (try? JSONValue.parse([UInt8](data)))?.objectValue else { return [:] }
        return object
    }

    /// The settings of the user whose root is `root`; empty when the file is missing, unreadable, not an
    /// object, or a symlink that leaves `root`.
    static func readSettings(inside root: String) -> JSONObject {
        guard let path = try? SafePath.resolve(settingsFile, in: root), SafePath.isInside(path, base: root) else { return [:] }
        return readSettings(path)
    }

    /// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, creating parent
    /// directories as needed. Readers see either the old or the new file, never a partial one.
    /// - Throws: ``UserFileError`` when a directory or the file cannot be written.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw UserFileError(message: "Cannot create directory")
        }
        let temp = parent + "/." + (path as NSString).lastPathComponent + "." + UUID().uuidString.lowercased() + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(bytes)) else {
            throw UserFileError(message: "Cannot write file")
        }
        if rename(temp, path) != 0 {
            let code = errno
            try? FileManager.default.removeItem(atPath: temp)
            throw UserFileError(message: "Cannot write file (\(String(cString: strerror(code))))")
        }
    }

    /// Renames `source` to `destination` (replacing it), creating the destination's parent directories.
    /// - Throws: ``UserFileError`` when the move fails.
    static func move(_ source: String, to destination: String) throws {
        let parent = (destination as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw UserFileError(message: "Cannot create directory")
        }
        if rename(source, destination) == 0 { return }
        let code = errno
        guard code == EXDEV, let data = FileManager.default.contents(atPath: source) else {
            throw UserFileError(message: "Cannot move file (\(String(cString: strerror(code))))")
        }
        try writeAtomically([UInt8](data), to: destination)
        try? FileManager.default.removeItem(atPath: source)
    }

    /// Kinds of directory entries the listings distinguish.
    enum EntryKind { case file, directory, other, missing }

    /// What `path` is, following symlinks.
    static func kind(of path: String) -> EntryKind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .missing }
        if isDirectory.boolValue { return .directory }
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFREG ? .file : .other
    }

    /// Size, modification and status-change times of a file.
    struct Times {
        var size: Int
        var modifiedMillis: Int64
        var createdMillis: Int64
        var modifiedSeconds: Double
    }

    /// `stat` of `path` (following symlinks), or `nil` when it cannot be read.
    static func times(_ path: String) -> Times? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let m = info.st_mtimespec, c = info.st_ctimespec
        #else
        let m = info.st_mtim, c = info.st_ctim
        #endif
        let mMillis = Int64(m.tv_sec) * 1000 + Int64(m.tv_nsec) / 1_000_000
        let cMillis = Int64(c.tv_sec) * 1000 + Int64(c.tv_nsec) / 1_000_000
        return Times(size: Int(info.st_size), modifiedMillis: mMillis, createdMillis: cMillis,
                     modifiedSeconds: Double(m.tv_sec) + Double(m.tv_nsec) / 1e9)
    }

    /// The symlink-free absolute form of an existing `path`, or `nil`.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Regular files under `directory`, as `/`-separated paths relative to it, sorted.
    ///
    /// Hidden entries (leading `.`) are skipped, as are entries whose resolved path leaves `root`
    /// (symlinks pointing out of the user's directory). Symlinked directories inside `root` are
    /// followed once each.
    static func listFiles(in directory: String, root: String, recurse: Bool) -> [String] {
        var results: [String] = []
        var visited: Set<String> = []
        func walk(_ absolute: String, prefix: String) {
            guard visited.insert(absolute).inserted,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: absolute) else { return }
            for name in names where !name.hasPrefix(".") {
                guard let resolved = realPath(absolute + "/" + name), SafePath.isInside(resolved, base: root) else { continue }
                let relative = prefix.isEmpty ? name : prefix + "/" + name
                switch kind(of: resolved) {
                case .file: results.append(relative)
                case .directory where recurse: walk(resolved, prefix: relative)
                default: break
                }
            }
        }
        walk(directory, prefix: "")
        return results.sorted()
    }
}
