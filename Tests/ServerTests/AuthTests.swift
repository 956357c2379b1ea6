import HTTPTypes
import HummingbirdTesting
import Testing
import Workflow

/// Token authentication on every route, and on the WebSocket upgrade.
@Suite struct AuthTests {
    static let token = "s3cret-token-for-tests"

    /// Every HTTP route the server offers (the aliased ones are expanded below).
    static let aliasedRoutes: [(HTTPRequest.Method, String)] = [
        (.get, "/prompt"), (.post, "/prompt"), (.get, "/queue"), (.post, "/queue"), (.post, "/interrupt"), (.post, "/free"),
        (.get, "/history"), (.post, "/history"), (.get, "/history/2b7c1a52-4b7e-4a65-9d0e-6a8f2b1c9d00"),
        (.get, "/view?filename=x.png"), (.post, "/upload/image"), (.post, "/upload/mask"),
        (.get, "/object_info"), (.get, "/object_info/EmptyImage"), (.get, "/models"), (.get, "/models/checkpoints"),
        (.get, "/embeddings"), (.get, "/extensions"), (.get, "/features"), (.get, "/system_stats"),
    ]
    static let prefixOnlyRoutes: [(HTTPRequest.Method, String)] = [
        (.get, "/api/jobs"), (.get, "/api/jobs/2b7c1a52-4b7e-4a65-9d0e-6a8f2b1c9d00"),
        (.post, "/api/jobs/2b7c1a52-4b7e-4a65-9d0e-6a8f2b1c9d00/cancel"), (.post, "/api/jobs/cancel"),
    ]
    static var allRoutes: [(HTTPRequest.Method, String)] {
        aliasedRoutes + aliasedRoutes.map { ($0.0, "/api" + $0.1) } + prefixOnlyRoutes
    }

    @Test func everyRouteNeedsTheToken() async throws {
        try await withServer(token: Self.token) { server in
            let refusals: [HTTPFields] = [[:], [.authorization: "wrong"], [.authorization: "Bearer wrong"],
                                          [.authorization: "Bearer"], [.authorization: Self.token + "x"]]
            for (method, path) in Self.allRoutes {
                for headers in refusals {
                    let response = try await server.request(method, path, headers: headers, authenticated: false)
                    #expect(response.status == .unauthorized, "\(method) \(path) with \(headers)")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                    #expect((try? response.json())?["error"]?.stringValue != nil, "\(method) \(path)")
                }
                for value in [Self.token, "Bearer \(Self.token)"] {
                    let response = try await server.request(method, path, headers: [.authorization: value], authenticated: false)
                    #expect(response.status != .unauthorized, "\(method) \(path) with \(value)")
                }
            }
            // Health answers without a token.
            #expect(try await server.request(.get, "/health", authenticated: false).status == .ok)
        }
    }

    @Test func authenticatedClientsWorkNormally() async throws {
        try await withServer(token: Self.token) { server in
            let id = try await server.submit(Prompts.emptyPreview())
            #expect(try await server.waitForHistory(id)["status"]?["status_str"] == "success")
            let response = try await server.request(.get, "/api/jobs/\(id)", headers: [.authorization: "Bearer \(Self.token)"],
                                                    authenticated: false)
            #expect(response.status == .ok)
            #expect(try response.json()["status"] == "completed")
        }
    }

    @Test func webSocketUpgradeNeedsTheToken() async throws {
        try await withServer(token: Self.token) { server in
            #expect(await webSocketOpens(port: server.port, path: "/ws") == false)
            // Without the token, /ws answers 401 like every other route.
            let plain = try await server.request(.get, "/ws?clientId=a", authenticated: false)
            #expect(plain.status == .unauthorized)
            #expect(await webSocketOpens(port: server.port, path: "/ws?clientId=a&token=wrong") == false)
            #expect(await webSocketOpens(port: server.port, path: "/ws", headers: [.authorization: "nope"]) == false)
            #expect(await webSocketOpens(port: server.port, path: "/ws?clientId=a&token=\(Self.token)"))
            #expect(await webSocketOpens(port: server.port, path: "/api/ws?token=\(Self.token)"))
            #expect(await webSocketOpens(port: server.port, path: "/ws", headers: [.authorization: "Bearer \(Self.token)"]))
            #expect(await webSocketOpens(port: server.port, path: "/ws", headers: [.authorization: Self.token]))
        }
    }

    @Test func withoutATokenNothingIsRequired() async throws {
        try await withServer { server in
            let response = try await server.request(.get, "/object_info/EmptyImage", authenticated: false)
            #expect(response.status == .ok)
            #expect(await webSocketOpens(port: server.port, path: "/ws"))
        }
    }
}
