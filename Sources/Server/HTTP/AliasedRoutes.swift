import Hummingbird

/// Registers each dynamic route twice, as `/x` and `/api/x`, as ComfyUI does.
struct AliasedRoutes {
    let router: Router<LoomRequestContext>

    typealias Handler = @Sendable (Request, LoomRequestContext) async throws -> Response

    func get(_ path: String, _ handler: @escaping Handler) { add(.get, path, handler) }
    func post(_ path: String, _ handler: @escaping Handler) { add(.post, path, handler) }
    func delete(_ path: String, _ handler: @escaping Handler) { add(.delete, path, handler) }

    func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: handler)
        router.on(RouterPath("/api" + path), method: method, use: handler)
    }

    /// A route that exists only with the `/api` prefix (the jobs API).
    func apiOnly(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath("/api" + path), method: method, use: handler)
    }
}
