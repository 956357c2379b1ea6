import FolderPaths
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Workflow

/// The web frontend: `GET /` (index.html), the static files of the web root, `GET /templates/{path}`, and the
/// small support endpoints the frontend calls at start-up (`/i18n`, `/workflow_templates`, `/global_subgraphs`,
/// `/node_replacements`, `/internal/logs*`).
///
/// Static files are served by a middleware that only answers requests no route took (the router's
/// "not found"), so a file in the web root never shadows an API route. Register this controller last.
struct WebController {
    /// The frontend build directory, or nil when none is installed.
    let webRoot: String?
    /// The server's token: the page then carries a small login (see ``WebLogin``).
    var token: String? = nil
    /// Directories `GET /templates/{path}` looks in, in order.
    let templateDirectories: [String]
    let bodyLimit: Int
    let fileIO = FileIO()

    func register(_ routes: AliasedRoutes, router: Router<LoomRequestContext>, logger: Logger) {
        if let webRoot {
            logger.info("Serving the web frontend from \(webRoot)")
        } else {
            logger.notice("No web frontend installed: the API works, GET / explains how to install it (scripts/setup.sh)")
        }
        let files = StaticFiles(fileIO: fileIO)
        router.get("/") { request, context -> Response in
            guard let webRoot else {
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: FrontendLocator.installHint)))
            }
            if let token, let offered = request.uri.queryParameters.get("token") {
                return WebLogin.login(offered: offered, token: token)
            }
            guard var response = try await files.serve(segments: ["index.html"], under: webRoot, request: request, context: context)
            else { return .status(.notFound) }
            if token != nil, request.method == .get, response.status == .ok {
                response = try WebLogin.injectingLogin(index: webRoot + "/index.html", into: response)
            }
            response.headers[.cacheControl] = "no-store, must-revalidate"
            response.headers[StaticFiles.pragma] = "no-cache"
            response.headers[.expires] = "0"
            return response
        }
        router.get("/templates/**") { request, context -> Response in
            let segments = context.parameters.getCatchAll().map(String.init)
            for directory in templateDirectories {
                if let response = try await files.serve(segments: segments, under: directory, request: request, context: context) {
                    return response
                }
            }
            return .status(.notFound)
        }

        // Custom-node features Loom has none of: empty but valid answers.
        routes.get("/i18n") { _, _ in .json([:]) }
        routes.get("/workflow_templates") { _, _ in .json([:]) }
        routes.get("/global_subgraphs") { _, _ in .json([:]) }
        routes.get("/global_subgraphs/{id}") { _, _ in .status(.notFound) }
        routes.get("/node_replacements") { _, _ in .json([:]) }

        // The log console: no buffered lines (ComfyUI registers these only without `/api`).
        router.get("/internal/logs") { _, _ -> Response in .json("") }
        router.get("/internal/logs/raw") { _, _ -> Response in
            .json(["entries": [], "size": ["cols": 80, "rows": 24]])
        }
        router.patch("/internal/logs/subscribe") { request, _ -> Response in
            _ = try await request.body.collect(upTo: bodyLimit)
            return .empty
        }

        if let webRoot {
            // Added after every route so it wraps only the router's "not found" (see the type's documentation).
            router.add(middleware: StaticFilesMiddleware(root: webRoot, files: files))
        }
    }
}

/// Serves a file of the web root for a GET or HEAD request that no route answered.
struct StaticFilesMiddleware: RouterMiddleware {
    typealias Context = LoomRequestContext
    let root: String
    let files: StaticFiles

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard request.method == .get || request.method == .head else { throw error }
            let segments = request.uri.path.split(separator: "/").map(String.init)
            guard let response = try await files.serve(segments: segments, under: root, request: request, context: context) else {
                throw error
            }
            return response
        }
    }
}

/// File responses for the web root and the templates: content types browsers accept for module scripts,
/// conditional requests, HTTP ranges and HEAD.
struct StaticFiles: Sendable {
    let fileIO: FileIO

    /// `Pragma`, which swift-http-types does not name.
    static let pragma = HTTPField.Name("Pragma")!

    /// Content types by lowercased extension; anything else falls back to ``ContentTypes/guess(_:)``.
    static let types: [String: String] = [
        "js": "application/javascript; charset=utf-8", "mjs": "application/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8", "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8",
        "json": "application/json", "map": "application/json", "webmanifest": "application/manifest+json",
        "wasm": "application/wasm", "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "otf": "font/otf",
        "eot": "application/vnd.ms-fontobject", "svg": "image/svg+xml", "ico": "image/x-icon",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
        "avif": "image/avif", "cur": "image/x-icon", "mp3": "audio/mpeg", "mp4": "video/mp4", "webm": "video/webm",
    ]

    /// The content type for a served file name.
    static func contentType(_ name: String) -> String {
        types[(name as NSString).pathExtension.lowercased()] ?? ContentTypes.guess(name)
    }

    /// The response for the file named by raw (percent-encoded) path `segments` under `directory`, or nil when
    /// the segments do not name a regular file inside it (traversal, encoded slashes and NUL bytes included).
    func serve(segments: [String], under directory: String, request: Request, context: LoomRequestContext) async throws -> Response? {
        var parts: [String] = []
        for segment in segments {
            guard let decoded = segment.removingPercentEncoding, SafePath.isSafeComponent(decoded) else { return nil }
            parts.append(decoded)
        }
        guard let name = parts.last else { return nil }
        let path: String
        do {
            let base = try SafePath.resolve("", in: directory)
            path = try SafePath.resolve(parts.joined(separator: "/"), in: base)
            guard SafePath.isInside(path, base: base) else { return nil }
        } catch {
            return nil
        }
        guard FrontendLocator.isFile(path), let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return nil
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        var headers: HTTPFields = [.contentType: Self.contentType(name), .acceptRanges: "bytes"]
        let ext = (name as NSString).pathExtension.lowercased()
        if ext == "js" || ext == "mjs" || ext == "css" { headers[.cacheControl] = "no-cache" }
        if let modified = attributes[.modificationDate] as? Date {
            let tag = "\"\(Int(modified.timeIntervalSince1970 * 1000))-\(size)\""
            headers[.lastModified] = ContentTypes.httpDate(modified)
            headers[.eTag] = tag
            if let match = request.headers[.ifNoneMatch], match.split(separator: ",").map({ String($0).trimmingSpaces() }).contains(where: { $0 == tag || $0 == "*" }) {
                return Response(status: .notModified, headers: headers)
            }
        }
        if request.method == .head {
            headers[.contentLength] = String(size)
            return Response(status: .ok, headers: headers)
        }
        if let rangeHeader = request.headers[.range], size > 0 {
            return try await fileIO.rangeResponse(rangeHeader, path: path, size: size, headers: headers, context: context)
        }
        headers[.contentLength] = String(size)
        let body = size == 0 ? ResponseBody() : try await fileIO.loadFile(path: path, context: context)
        return Response(status: .ok, headers: headers, body: body)
    }
}
