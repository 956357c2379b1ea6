import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore

/// A `multipart/form-data` body built by hand (RFC 7578), as browsers send uploads.
struct MultipartBody {
    let boundary = "----LoomTestBoundary\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
    private(set) var bytes: [UInt8] = []

    /// A plain text field.
    mutating func field(_ name: String, _ value: String) {
        append("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
    }

    /// A file part.
    mutating func file(_ name: String, filename: String, contentType: String = "image/png", data: [UInt8]) {
        append("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n")
        append("Content-Type: \(contentType)\r\n\r\n")
        bytes += data
        append("\r\n")
    }

    /// The finished body and its content type header.
    func finished() -> (body: ByteBuffer, headers: HTTPFields) {
        var all = bytes
        all += Array("--\(boundary)--\r\n".utf8)
        return (ByteBuffer(bytes: all), [.contentType: "multipart/form-data; boundary=\(boundary)"])
    }

    private mutating func append(_ text: String) { bytes += Array(text.utf8) }
}

extension TestServer {
    /// `POST /upload/image` (or another upload path) with an `image` file part and text fields.
    @discardableResult
    func upload(_ path: String = "/upload/image", filename: String, data: [UInt8],
                fields: KeyValuePairs<String, String> = [:]) async throws -> TestResponse {
        var form = MultipartBody()
        form.file("image", filename: filename, data: data)
        for (name, value) in fields { form.field(name, value) }
        let (body, headers) = form.finished()
        return try await request(.post, path, body: body, headers: headers)
    }
}
