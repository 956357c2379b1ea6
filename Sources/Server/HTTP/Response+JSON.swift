import Hummingbird
import NIOCore
import Workflow

extension Response {
    /// A JSON response from a ``JSONValue``.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let bytes = value.serialized()
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// ComfyUI's "200 empty".
    static var empty: Response { Response(status: .ok) }

    /// A bare status with an empty body (ComfyUI answers many failures this way).
    static func status(_ status: HTTPResponse.Status) -> Response { Response(status: status) }

    /// `{"error": "<message>"}`.
    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        json(["error": .string(message)], status: status)
    }
}

extension Request {
    /// The body parsed as JSON, collected up to `limit` bytes. `nil` for an empty body.
    /// - Throws: `NIOTooManyBytesError` (→ 413) past the limit; ``JSONParseError`` for malformed JSON.
    func jsonBody(limit: Int) async throws -> JSONValue? {
        let buffer = try await body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        return try JSONValue.parse(buffer.readableBytesView)
    }

    /// Like ``jsonBody(limit:)``, but a malformed body reads as `nil` (the routes where ComfyUI
    /// tolerates any body). A body over the limit still throws, so it is answered with 413.
    /// - Throws: `NIOTooManyBytesError` past the limit.
    func lenientJSONBody(limit: Int) async throws -> JSONValue? {
        do {
            return try await jsonBody(limit: limit)
        } catch is JSONParseError {
            return nil
        }
    }

    /// A query parameter, percent-decoded.
    func query(_ name: String) -> String? { uri.queryParameters.get(name) }
}
