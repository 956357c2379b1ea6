import Foundation
import HTTPTypes
import Testing

/// With a token, the page loads without one, asks for it, and then carries it as a `SameSite=Strict` cookie.
@Suite struct WebLoginTests {
    let token = "page-token-123"

    @Test func thePageLoadsWithoutATokenAndAsksForIt() async throws {
        try await WebFrontendTests().withWebServer(webRoot: WebFrontendTests.makeWebRoot, token: token) { server, _ in
            let page = try await server.request(.get, "/", authenticated: false)
            #expect(page.status == .ok)
            let html = String(decoding: page.bytes, as: UTF8.self)
            #expect(html.hasPrefix("<!doctype html><html><head><script>"), "\(html.prefix(80))")
            #expect(html.contains("window.prompt(") && html.contains("fake"))
            #expect(try await server.request(.get, "/assets/x.js", authenticated: false).status == .ok)
            // The API and files outside the web root still need the token.
            // The fake web root has files named like API routes: they give no way around the token.
            #expect(try await server.request(.get, "/object_info", authenticated: false).status == .unauthorized)
            #expect(try await server.request(.get, "/api/object_info", authenticated: false).status == .unauthorized)
            #expect(try await server.request(.get, "/data.json", authenticated: false).status == .unauthorized)
            #expect(try await server.request(.get, "/secret.txt", authenticated: false).status == .unauthorized)
            #expect(try await server.request(.get, "/leak.txt", authenticated: false).status == .unauthorized)
            #expect(try await server.request(.post, "/prompt", authenticated: false).status == .unauthorized)
        }
    }

    @Test func theTokenInTheURLBecomesAStrictCookie() async throws {
        try await WebFrontendTests().withWebServer(webRoot: WebFrontendTests.makeWebRoot, token: token) { server, _ in
            let wrong = try await server.request(.get, "/?token=nope", authenticated: false)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.setCookie] == nil)
            let login = try await server.request(.get, "/?token=\(token)", authenticated: false)
            #expect(login.status == .seeOther && login.headers[.location] == "/")
            let cookie = try #require(login.headers[.setCookie])
            #expect(cookie.contains("loom_token=\(token)") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let withCookie = try await server.request(.get, "/object_info", headers: [.cookie: "other=1; loom_token=\(token)"],
                                                      authenticated: false)
            #expect(withCookie.status == .ok)
            let badCookie = try await server.request(.get, "/object_info", headers: [.cookie: "loom_token=wrong"], authenticated: false)
            #expect(badCookie.status == .unauthorized)
        }
    }

    @Test func withoutATokenThePageHasNoLogin() async throws {
        try await WebFrontendTests().withWebServer(webRoot: WebFrontendTests.makeWebRoot) { server, _ in
            let html = String(decoding: try await server.get("/").bytes, as: UTF8.self)
            #expect(html == WebFrontendTests.indexHTML)
        }
    }
}
