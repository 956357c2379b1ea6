import Hummingbird

/// Requires the configured token on every route except `/health` and the queue services under `/api/predict/`
/// (which authenticate each service with its own token, see ``QueueServiceController``).
///
/// Accepts `Authorization: <token>` and `Authorization: Bearer <token>`; the WebSocket upgrade is
/// checked separately (it may also carry `?token=`). A wrong or missing token gets 401 with a JSON error.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = LoomRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" || request.uri.path == "/api/health"
            || request.uri.path.hasPrefix(QueueServiceController.pathPrefix) {
            return try await next(request, context)
        }
        guard TokenCheck.matches(request.headers[.authorization], token: token) else {
            var response = Response.error("Unauthorized: a valid token is required (Authorization: Bearer <token>)", status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}

/// Token comparison shared by HTTP and WebSocket authentication.
enum TokenCheck {
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
