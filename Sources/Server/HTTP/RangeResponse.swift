import Hummingbird

extension FileIO {
    /// Answers a `Range` request for the file at `path` (`size` bytes): 206 with the requested part and its
    /// `Content-Range`, or 416 when the range cannot be satisfied. `headers` carries the file's other headers.
    func rangeResponse(_ rangeHeader: String, path: String, size: Int, headers: HTTPFields,
                       context: some RequestContext) async throws -> Response {
        var headers = headers
        guard let range = ContentTypes.parseRange(rangeHeader, size: size) else {
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        headers[.contentLength] = String(range.count)
        return Response(status: .partialContent, headers: headers, body: try await loadFile(path: path, range: range, context: context))
    }
}
