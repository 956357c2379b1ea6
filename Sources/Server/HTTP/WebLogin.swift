import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// How the web page gets the server's token when one is configured. The official frontend knows nothing of
/// tokens, and a browser cannot add a header to the page's own image and script requests, so:
///
/// - `GET /?token=T` with the right token answers `303 → /` and sets the `loom_token` cookie (`HttpOnly`,
///   `SameSite=Strict`, so other sites' pages cannot use it); every request of the page then carries it, the
///   WebSocket included. A wrong token answers 401 with the page's login prompt.
/// - `index.html` is served with a small script at the top of `<head>` that, when the API answers 401, asks for the
///   token once and goes to `/?token=…`.
enum WebLogin {
    /// The login redirect (or a refusal) for a token offered in the URL.
    static func login(offered: String, token: String) -> Response {
        guard TokenCheck.constantTimeEqual(offered, token) else {
            return Response(status: .unauthorized, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "<!doctype html><title>Loom</title>" + script)))
        }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let value = offered.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        return Response(status: .seeOther, headers: [
            .location: "/", .cacheControl: "no-store",
            .setCookie: "\(TokenCheck.cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict",
        ])
    }

    /// `index.html` (read from `path`) with the login script inserted right after `<head>`, keeping `response`'s
    /// headers.
    static func injectingLogin(index path: String, into response: Response) throws -> Response {
        var html = try String(contentsOfFile: path, encoding: .utf8)
        if let head = html.range(of: "<head>") {
            html.insert(contentsOf: script, at: head.upperBound)
        } else {
            html = script + html
        }
        var headers = response.headers
        headers[.contentLength] = String(html.utf8.count)
        headers[.eTag] = nil
        headers[.lastModified] = nil
        return Response(status: response.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// Asks for the token once when the API refuses the page (no cookie yet, or a changed token).
    static let script = """
        <script>(function(){var k="loom-login-asked";fetch("/api/system_stats",{credentials:"same-origin"}).then(function(r){\
        if(r.status!==401){sessionStorage.removeItem(k);return;}if(sessionStorage.getItem(k)==="1"&&location.search.indexOf("token=")<0){\
        sessionStorage.removeItem(k);}sessionStorage.setItem(k,"1");var t=window.prompt("This Loom server needs its access token");\
        if(t){location.href="/?token="+encodeURIComponent(t);}});})();</script>
        """
}
