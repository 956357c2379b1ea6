import FolderPaths
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Workflow

/// `/users`, `/settings`, `/settings/{id}`, `/userdata`, `/v2/userdata`, `/userdata/{file}` and
/// `/userdata/{file}/move/{dest}`: the per-user storage the web frontend keeps on the server.
///
/// Every path is resolved inside the requesting user's directory (symlinks included). Stored files are
/// plain data: they are served as attachments with `nosniff`, active content types (HTML, SVG, XML,
/// scripts, styles) as `application/octet-stream`, except the user root's `user.css`, which the frontend
/// loads as a stylesheet.
struct UserDataController {
    let registry: UserRegistry
    let maxUploadSize: Int
    let fileIO = FileIO()

    static let userHeader = HTTPField.Name("Comfy-User")!

    init(userDirectory: String, multiUser: Bool, maxUploadSize: Int) {
        self.registry = UserRegistry(userDirectory: userDirectory, multiUser: multiUser)
        self.maxUploadSize = maxUploadSize
    }

    init(configuration: ServerConfiguration) {
        self.init(userDirectory: configuration.directories.user, multiUser: configuration.multiUser,
                  maxUploadSize: configuration.maxUploadSize)
    }

    func register(_ routes: AliasedRoutes) {
        routes.get("/users") { _, _ in await listUsers() }
        routes.post("/users") { request, _ in try await createUser(request) }
        routes.get("/settings") { request, _ in try await getSettings(request, id: nil) }
        routes.get("/settings/{id}") { request, context in
            try await getSettings(request, id: Self.decode(context.parameters.get("id") ?? ""))
        }
        routes.post("/settings") { request, _ in try await postSettings(request, id: nil) }
        routes.post("/settings/{id}") { request, context in
            try await postSettings(request, id: Self.decode(context.parameters.get("id") ?? ""))
        }
        routes.get("/userdata") { request, _ in try await listUserData(request) }
        routes.get("/v2/userdata") { request, _ in try await listUserDataV2(request) }
        routes.get("/userdata/{file}") { request, context in
            try await getFile(request, context: context, file: context.parameters.get("file") ?? "")
        }
        routes.post("/userdata/{file}") { request, context in
            try await postFile(request, file: context.parameters.get("file") ?? "")
        }
        routes.delete("/userdata/{file}") { request, context in
            try await deleteFile(request, file: context.parameters.get("file") ?? "")
        }
        routes.post("/userdata/{file}/move/{dest}") { request, context in
            try await moveFile(request, file: context.parameters.get("file") ?? "", dest: context.parameters.get("dest") ?? "")
        }
    }

    // MARK: helpers

    /// A path parameter percent-decoded; decoded once more while a `%` escape is still present.
    static func decode(_ raw: String) -> String {
        var value = raw.removingPercentEncoding ?? raw
        if value.contains("%"), let again = value.removingPercentEncoding { value = again }
        return value
    }

    /// A plain-text response.
    static func text(_ message: String, _ status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: message)))
    }

    /// `true` unless the query says `false` (ComfyUI's `overwrite`).
    static func flagDefaultTrue(_ request: Request, _ name: String) -> Bool {
        request.query(name)?.lowercased() != "false"
    }

    /// `true` only when the query says `true`.
    static func flag(_ request: Request, _ name: String) -> Bool {
        request.query(name)?.lowercased() == "true"
    }

    /// The requesting user's root, or the error response for an unknown (401) or forbidden (403) user.
    private func userRoot(_ request: Request) async -> Result<String, UserDataFailure> {
        switch await registry.resolve(header: request.headers[Self.userHeader]) {
        case .user(_, let root): return .success(root)
        case .unknown: return .failure(UserDataFailure(response: Self.text("Unknown user", .unauthorized)))
        case .forbidden: return .failure(UserDataFailure(response: Self.text("Invalid user", .forbidden)))
        }
    }

    /// The user's root and the file a route's `{file}` segment names in it: 401/403 for the user, 403 when the
    /// path escapes.
    private func userFile(_ request: Request, _ file: String) async -> Result<(root: String, path: String), UserDataFailure> {
        switch await userRoot(request) {
        case .success(let root):
            guard let path = resolve(Self.decode(file), root: root) else { return .failure(UserDataFailure(response: .status(.forbidden))) }
            return .success((root, path))
        case .failure(let failure):
            return .failure(failure)
        }
    }

    /// Resolves a decoded relative path inside `root`; `nil` when it escapes (or names `root` itself,
    /// which no file route may touch).
    private func resolve(_ relative: String, root: String) -> String? {
        guard let path = try? SafePath.resolve(relative, in: root), path != root,
              SafePath.isInside(path, base: root) else { return nil }
        return path
    }

    /// `path` relative to `root`, `/`-separated.
    private func relative(_ path: String, to root: String) -> String {
        String(path.dropFirst(root.count + 1))
    }

    /// The answer of a successful write or move: the relative path, or its file info.
    private func writeAnswer(path: String, root: String, fullInfo: Bool) -> Response {
        let rel = relative(path, to: root)
        guard fullInfo else { return .json(.string(rel)) }
        return .json(fileInfo(path: path, relativePath: rel))
    }

    /// `{"path", "size", "modified", "created"}` (times in milliseconds).
    private func fileInfo(path: String, relativePath: String) -> JSONValue {
        let times = UserFileIO.times(path)
        return [
            "path": .string(relativePath),
            "size": .int(Int64(times?.size ?? 0)),
            "modified": .int(times?.modifiedMillis ?? 0),
            "created": .int(times?.createdMillis ?? 0),
        ]
    }

    // MARK: users

    private func listUsers() async -> Response {
        if registry.multiUser {
            return .json(["storage": "server", "users": .object(await registry.users())])
        }
        guard case .user(_, let root) = await registry.resolve(header: nil) else {
            return Self.text("Invalid user directory", .forbidden)
        }
        return .json(["storage": "server", "migrated": .bool(UserFileIO.kind(of: root) == .directory)])
    }

    private func createUser(_ request: Request) async throws -> Response {
        let body = try await request.lenientJSONBody(limit: maxUploadSize)
        guard let name = body?["username"]?.stringValue else { return .error("username not provided", status: .badRequest) }
        do {
            return .json(.string(try await registry.addUser(named: name)))
        } catch let error as UserNameError {
            return .error(error.message, status: .badRequest)
        } catch {
            return .error("Cannot save users", status: .internalServerError)
        }
    }

    // MARK: settings

    private func getSettings(_ request: Request, id: String?) async throws -> Response {
        guard case .user(_, let root) = await registry.resolve(header: request.headers[Self.userHeader]) else {
            return Self.text("Unknown user", .unauthorized)
        }
        let settings = UserFileIO.readSettings(inside: root)
        guard let id else { return .json(.object(settings)) }
        return .json(settings[id] ?? .null)
    }

    private func postSettings(_ request: Request, id: String?) async throws -> Response {
        guard case .user(_, let root) = await registry.resolve(header: request.headers[Self.userHeader]) else {
            return Self.text("Unknown user", .unauthorized)
        }
        if let id, id.isEmpty { return Self.text("Setting id not provided", .badRequest) }
        let value: JSONValue
        do {
            guard let body = try await request.jsonBody(limit: maxUploadSize) else { return Self.text("Body required", .badRequest) }
            value = body
        } catch is JSONParseError {
            return Self.text("Invalid JSON", .badRequest)
        }
        do {
            if let id {
                try await registry.updateSettings(root: root) { $0[id] = value }
            } else {
                guard let object = value.objectValue else { return Self.text("Settings must be a JSON object", .badRequest) }
                try await registry.updateSettings(root: root) { settings in
                    for (key, item) in object { settings[key] = item }
                }
            }
        } catch {
            return Self.text("Cannot save settings", .internalServerError)
        }
        return .empty
    }

    // MARK: listings

    private func listUserData(_ request: Request) async throws -> Response {
        let root: String
        switch await userRoot(request) {
        case .success(let r): root = r
        case .failure(let failure): return failure.response
        }
        guard let dir = request.query("dir"), !dir.isEmpty else { return Self.text("Directory not provided", .badRequest) }
        guard let path = try? SafePath.resolve(dir, in: root), SafePath.isInside(path, base: root) else {
            return .status(.forbidden)
        }
        guard UserFileIO.kind(of: path) == .directory else { return Self.text("Directory not found", .notFound) }
        let files = UserFileIO.listFiles(in: path, root: root, recurse: Self.flag(request, "recurse"))
        if Self.flag(request, "full_info") {
            return .json(.array(files.map { fileInfo(path: path + "/" + $0, relativePath: $0) }))
        }
        if Self.flag(request, "split") {
            return .json(.array(files.map { file in
                .array([.string(file)] + file.split(separator: "/").map { .string(String($0)) })
            }))
        }
        return .json(JSONValue(files))
    }

    private func listUserDataV2(_ request: Request) async throws -> Response {
        let root: String
        switch await userRoot(request) {
        case .success(let r): root = r
        case .failure(let failure): return failure.response
        }
        let requested = request.query("path") ?? ""
        guard let path = try? SafePath.resolve(requested, in: root), SafePath.isInside(path, base: root) else {
            return Self.text("Invalid path", .forbidden)
        }
        switch UserFileIO.kind(of: path) {
        case .directory: break
        case .missing: return Self.text("Path not found", .notFound)
        default: return Self.text("Path is not a directory", .badRequest)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var entries: [(isDirectory: Bool, name: String, value: JSONValue)] = []
        for name in names {
            guard let resolved = UserFileIO.realPath(path + "/" + name), SafePath.isInside(resolved, base: root) else { continue }
            let rel = path == root ? name : relative(path, to: root) + "/" + name
            switch UserFileIO.kind(of: resolved) {
            case .directory:
                entries.append((true, name, ["name": .string(name), "path": .string(rel), "type": "directory"]))
            case .file:
                let times = UserFileIO.times(resolved)
                entries.append((false, name, ["name": .string(name), "path": .string(rel), "type": "file",
                                              "size": .int(Int64(times?.size ?? 0)),
                                              "modified": .double(times?.modifiedSeconds ?? 0)]))
            default: continue
            }
        }
        entries.sort { $0.isDirectory != $1.isDirectory ? $0.isDirectory : $0.name < $1.name }
        return .json(.array(entries.map(\.value)))
    }

    // MARK: files

    private func getFile(_ request: Request, context: LoomRequestContext, file: String) async throws -> Response {
        let root: String, path: String
        switch await userFile(request, file) {
        case .success(let found): (root, path) = found
        case .failure(let failure):
            // index.html links the user stylesheet, and a `<link>` carries no `Comfy-User`: in multi-user mode
            // that request has no known user, which only means there is no stylesheet for it.
            if failure.response.status == .unauthorized, Self.decode(file) == "user.css" { return .status(.notFound) }
            return failure.response
        }
        guard UserFileIO.kind(of: path) == .file, let times = UserFileIO.times(path) else { return .status(.notFound) }
        let baseName = (path as NSString).lastPathComponent
        var headers: HTTPFields = [:]
        headers[.xContentTypeOptions] = "nosniff"
        if relative(path, to: root) == "user.css" {
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.contentDisposition] = "inline"
        } else {
            let type = ContentTypes.guess(baseName)
            headers[.contentType] = ContentTypes.isDangerous(type) ? "application/octet-stream" : type
            headers[.contentDisposition] = Self.attachment(baseName)
        }
        headers[.contentLength] = String(times.size)
        let body = times.size == 0 ? ResponseBody() : try await fileIO.loadFile(path: path, context: context)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `attachment` with an ASCII `filename` and the exact UTF-8 name in `filename*`.
    static func attachment(_ name: String) -> String {
        let ascii = String(ContentTypes.quoted(name).unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "_" })
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(0x7F)))
        allowed.insert(charactersIn: "-._~")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? ascii
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    private func postFile(_ request: Request, file: String) async throws -> Response {
        let root: String, path: String
        switch await userFile(request, file) {
        case .success(let found): (root, path) = found
        case .failure(let failure): return failure.response
        }
        let overwrite = Self.flagDefaultTrue(request, "overwrite")
        let buffer = try await request.body.collect(upTo: maxUploadSize)
        switch UserFileIO.kind(of: path) {
        case .missing: break
        case .file: if !overwrite { return Self.text("File already exists", .conflict) }
        default: return Self.text("Cannot write to a directory", .badRequest)
        }
        do {
            try UserFileIO.writeAtomically(Array(buffer.readableBytesView), to: path)
        } catch let error as UserFileError {
            return Self.text(error.message, .badRequest)
        }
        return writeAnswer(path: path, root: root, fullInfo: Self.flag(request, "full_info"))
    }

    private func deleteFile(_ request: Request, file: String) async throws -> Response {
        let path: String
        switch await userFile(request, file) {
        case .success(let found): path = found.path
        case .failure(let failure): return failure.response
        }
        guard UserFileIO.kind(of: path) == .file else { return .status(.notFound) }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            return Self.text("Cannot delete file", .badRequest)
        }
        return .status(.noContent)
    }

    private func moveFile(_ request: Request, file: String, dest: String) async throws -> Response {
        let root: String
        switch await userRoot(request) {
        case .success(let r): root = r
        case .failure(let failure): return failure.response
        }
        guard let source = resolve(Self.decode(file), root: root), let destination = resolve(Self.decode(dest), root: root) else {
            return .status(.forbidden)
        }
        guard UserFileIO.kind(of: source) == .file else { return .status(.notFound) }
        switch UserFileIO.kind(of: destination) {
        case .missing: break
        case .file:
            if !Self.flagDefaultTrue(request, "overwrite") { return Self.text("File already exists", .conflict) }
        default: return Self.text("Destination is a directory", .badRequest)
        }
        if source != destination {
            do {
                try UserFileIO.move(source, to: destination)
            } catch let error as UserFileError {
                return Self.text(error.message, .badRequest)
            }
        }
        return writeAnswer(path: destination, root: root, fullInfo: Self.flag(request, "full_info"))
    }
}

/// An early answer from a user-scoped route (unknown or forbidden user).
struct UserDataFailure: Error {
    var response: Response
}
