/// The still/animated image formats Loom decodes, recognised by their magic bytes.
public enum ImageCodec: String, Sendable, CaseIterable {
    case png
    case jpeg
    case webp

    /// Identifies the format from the first bytes of a file.
    /// - Returns: the codec, or `nil` when the signature is not PNG, JPEG or WEBP.
    public static func sniff<C: Collection>(_ data: C) -> ImageCodec? where C.Element == UInt8 {
        let head = Array(data.prefix(12))
        if head.count >= 8, Array(head[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head.count >= 12, Array(head[0..<4]) == Array("RIFF".utf8), Array(head[8..<12]) == Array("WEBP".utf8) {
            return .webp
        }
        return nil
    }

    /// The MIME type (`image/png`, …).
    public var mimeType: String { "image/\(rawValue)" }
}
