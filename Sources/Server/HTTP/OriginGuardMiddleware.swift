import Foundation
import Hummingbird

/// ComfyUI's default cross-origin guard: a browser request whose `Origin` names another host than a
/// loopback `Host` is refused with 403, so a web page cannot drive a local server (DNS rebinding,
/// cross-site POSTs). `OPTIONS` requests get an empty 200.
struct OriginGuardMiddleware: RouterMiddleware {
    typealias Context = LoomRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .options { return .empty }
        if let host = request.head.authority, let origin = request.headers[.origin],
           Self.isCrossOrigin(host: host, origin: origin) {
            return .status(.forbidden)
        }
        return try await next(request, context)
    }

    /// Whether `origin` differs from a loopback `host` (ports compared only when both carry one).
    static func isCrossOrigin(host: String, origin: String) -> Bool {
        let hostParts = splitHostPort(host)
        guard isLoopback(hostParts.host) else { return false }
        guard let url = URL(string: origin), let originHost = url.host else { return true }
        let originName = originHost.hasPrefix("[") ? String(originHost.dropFirst().dropLast()) : originHost
        if originName.lowercased() != hostParts.host.lowercased() { return true }
        if let a = hostParts.port, let b = url.port, a != b { return true }
        return false
    }

    static func splitHostPort(_ value: String) -> (host: String, port: Int?) {
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { return (value, nil) }
            let host = String(value[value.index(after: value.startIndex)..<close])
            let rest = value[value.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2 { return (String(parts[0]), Int(parts[1])) }
        return (value, nil)
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }
}
