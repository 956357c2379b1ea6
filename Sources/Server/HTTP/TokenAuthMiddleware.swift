import FolderPaths
import Foundation
import Hummingbird

/// Requires the configured token on every route except `/health` and the queue services under `/api/predict/`
/// (which authenticate each service with its own token, see ``QueueServiceController``).
///
/// Accepts `Authorization: <token>` and `Authorization: Bearer <token>`; the WebSocket upgrade is
/// checked separately (it may also carry `?token=`). A wrong or missing token gets 401 with a JSON error.
///
/// A browser cannot put a header on the page's own requests (`<img src=/view…>`, scripts), so the web page's login
/// (see ``WebController``) stores the token in a `SameSite=Strict`, `HttpOnly` cookie, which is accepted too. The
/// page itself — `GET /`, the files of the web root and the templates — loads without a token, so it can ask for one.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = LoomRequestContext
    let token: String
    /// The web frontend's directory: its files are public.
    var webRoot: String? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/health" || path == "/api/health" || path.hasPrefix(QueueServiceController.pathPrefix) || isPublicPage(request) {
            return try await next(request, context)
        }
        guard TokenCheck.matches(request.headers[.authorization], token: token)
                || TokenCheck.cookieMatches(request.headers[.cookie], token: token) else {
            var response = Response.error("Unauthorized: a valid token is required (Authorization: Bearer <token>)", status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}

extension TokenAuthMiddleware {
    /// Extensions of the page's own files (scripts, styles, fonts, icons). A file of the web root without one of
    /// these stays behind the token: it could share a path with an API route.
    static let pageFileExtensions: Set<String> = ["js", "mjs", "css", "ico", "png", "svg", "woff", "woff2", "ttf", "otf",
                                                   "webmanifest", "map", "wasm", "html"]

    /// `GET`/`HEAD` of `/`, of `/templates/…`, or of an existing page file of the web root (outside `/api/`).
    func isPublicPage(_ request: Request) -> Bool {
        guard request.method == .get || request.method == .head else { return false }
        let path = request.uri.path
        if path == "/" || path.hasPrefix("/templates/") { return true }
        guard let webRoot, path.count > 1, !path.hasPrefix("/api/"),
              Self.pageFileExtensions.contains((path as NSString).pathExtension.lowercased()) else { return false }
        let relative = String(path.dropFirst()).removingPercentEncoding ?? ""
        guard !relative.isEmpty, let file = try? SafePath.resolve(relative, in: webRoot) else { return false }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

/// Token comparison shared by HTTP and WebSocket authentication.
enum TokenCheck {
    /// The cookie the web page's login sets.
    static let cookieName = "loom_token"

    /// Whether a `Cookie` header carries the token in ``cookieName``.
    static func cookieMatches(_ header: String?, token: String) -> Bool {
        guard let header else { return false }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0] == cookieName,
               constantTimeEqual(pair[1].removingPercentEncoding ?? pair[1], token) { return true }
        }
        return false
    }

    /// Whether an `Authorization` header value carries `token` (bare or as a Bearer token).
    static func matches(_ header: String?, token: String) -> Bool {
        guard var value = header else { return false }
        if value.lowercased().hasPrefix("bearer ") { value = String(value.dropFirst(7)) }
        return constantTimeEqual(value.trimmingSpaces(), token)
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
