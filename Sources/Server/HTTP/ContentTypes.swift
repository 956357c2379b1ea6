import Foundation

/// Content types for served files, and the rules that keep `/view` from serving active content inline.
enum ContentTypes {
    static let byExtension: [String: String] = [
        "png": "image/png", "apng": "image/apng", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
        "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff", "svg": "image/svg+xml", "ico": "image/x-icon",
        "mp4": "video/mp4", "webm": "video/webm", "mkv": "video/x-matroska", "mov": "video/quicktime", "avi": "video/x-msvideo",
        "mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "m4a": "audio/mp4", "opus": "audio/opus",
        "json": "application/json", "txt": "text/plain", "md": "text/markdown", "csv": "text/csv",
        "html": "text/html", "htm": "text/html", "xhtml": "application/xhtml+xml", "xml": "application/xml",
        "js": "text/javascript", "mjs": "text/javascript", "css": "text/css", "eml": "message/rfc822",
        "glb": "model/gltf-binary", "gltf": "model/gltf+json", "obj": "model/obj", "fbx": "application/octet-stream",
        "safetensors": "application/octet-stream", "latent": "application/octet-stream", "wasm": "application/wasm",
    ]

    static func guess(_ name: String) -> String {
        let ext = (name as NSString).pathExtension.lowercased()
        return byExtension[ext] ?? "application/octet-stream"
    }

    /// Types a browser would render or run: HTML, scripts, styles, any XML (SVG included), mail.
    static func isDangerous(_ type: String) -> Bool {
        let t = type.lowercased()
        return t == "text/html" || t.contains("javascript") || t == "text/css" || t.hasSuffix("xml") || t.hasSuffix("+xml")
            || t == "message/rfc822"
    }

    /// A file name safe inside a quoted header parameter.
    static func quoted(_ name: String) -> String {
        String(name.map { $0 == "\"" || $0 == "\\" || $0 == "\r" || $0 == "\n" ? "_" : $0 })
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    /// `bytes=a-b`, `bytes=a-` and `bytes=-n` for a file of `size` bytes; `nil` if unsatisfiable.
    static func parseRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6).split(separator: ",").first.map(String.init) ?? ""
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let suffix = Int(parts[1]), suffix > 0 else { return nil }
            return max(0, size - suffix)...(size - 1)
        }
        guard let start = Int(parts[0]), start >= 0, start < size else { return nil }
        if parts[1].isEmpty { return start...(size - 1) }
        guard let end = Int(parts[1]), end >= start else { return nil }
        return start...min(end, size - 1)
    }
}
