/// A parsed `multipart/form-data` body (RFC 7578): named fields, some of them files.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        var data: [UInt8]
    }

    var parts: [Part]

    subscript(name: String) -> Part? { parts.first { $0.name == name } }

    /// A text field's value.
    func text(_ name: String) -> String? { self[name].map { String(decoding: $0.data, as: UTF8.self) } }

    /// The boundary parameter of a `multipart/form-data` content type.
    static func boundary(fromContentType contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces() }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// Parses `body` split by `boundary`; `nil` when the body is not well-formed multipart.
    init?(body: [UInt8], boundary: String) {
        let delimiter = Array(("--" + boundary).utf8)
        var positions: [Int] = []
        var searchFrom = 0
        while let at = Self.find(delimiter, in: body, from: searchFrom) {
            positions.append(at)
            searchFrom = at + delimiter.count
        }
        guard positions.count >= 2 else { return nil }
        var parts: [Part] = []
        for (start, end) in zip(positions, positions.dropFirst()) {
            var partStart = start + delimiter.count
            // Skip the CRLF after the delimiter line.
            if partStart + 1 < body.count, body[partStart] == 0x0D, body[partStart + 1] == 0x0A { partStart += 2 }
            var partEnd = end
            // The CRLF before the next delimiter belongs to the delimiter.
            if partEnd >= 2, body[partEnd - 2] == 0x0D, body[partEnd - 1] == 0x0A { partEnd -= 2 }
            guard partStart <= partEnd, let headerEnd = Self.find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: partStart),
                  headerEnd <= partEnd else { continue }
            let headerText = String(decoding: body[partStart..<headerEnd], as: UTF8.self)
            var name: String?
            var filename: String?
            var contentType: String?
            for line in headerText.split(separator: "\r\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let key = kv[0].lowercased().trimmingSpaces()
                let value = String(kv[1]).trimmingSpaces()
                if key == "content-type" { contentType = value }
                if key == "content-disposition" {
                    for item in value.split(separator: ";").dropFirst() {
                        let pair = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces() }
                        guard pair.count == 2 else { continue }
                        var v = pair[1]
                        if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                        if pair[0].lowercased() == "name" { name = v }
                        if pair[0].lowercased() == "filename" { filename = v }
                    }
                }
            }
            guard let name else { continue }
            parts.append(Part(name: name, filename: filename, contentType: contentType, data: Array(body[(headerEnd + 4)..<partEnd])))
        }
        self.parts = parts
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var i = from
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var match = true
                for j in 1..<needle.count where haystack[i + j] != needle[j] {
                    match = false
                    break
                }
                if match { return i }
            }
            i += 1
        }
        return nil
    }
}
