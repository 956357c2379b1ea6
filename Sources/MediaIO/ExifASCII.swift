/// Builds and reads minimal EXIF/TIFF structures holding ASCII entries, the form ComfyUI uses for
/// WEBP metadata: tag 0x0110 (Model) = `"prompt:<json>"` and 0x010F (Make), 0x010E, … =
/// `"<key>:<json>"` for each `extra_pnginfo` key; the web frontend reads the workflow back from there.
public enum ExifASCII {
    /// A little-endian TIFF structure (`II*\0`, IFD0 at offset 8, no `Exif\0\0` prefix) with one
    /// ASCII (type 2) entry per tag.
    ///
    /// Entries are sorted by tag (when a tag repeats, the last value wins); each count is the UTF-8
    /// length plus the terminating NUL; values longer than 4 bytes follow the IFD at even offsets;
    /// the next-IFD offset is 0.
    /// - Parameter entries: the tags and their values.
    /// - Returns: the TIFF bytes, ready for a WEBP `EXIF` chunk.
    public static func tiff(_ entries: [(tag: UInt16, value: String)]) -> [UInt8] {
        var byTag: [UInt16: [UInt8]] = [:]
        for entry in entries { byTag[entry.tag] = Array(entry.value.utf8) + [0] }
        let tags = byTag.keys.sorted()
        var out: [UInt8] = [0x49, 0x49, 0x2A, 0x00]
        out += le32(8)
        let ifdSize = 2 + 12 * tags.count + 4
        var data: [UInt8] = []
        var dataOffset = 8 + ifdSize
        out += le16(UInt16(tags.count))
        for tag in tags {
            let value = byTag[tag] ?? [0]
            out += le16(tag) + le16(2) + le32(UInt32(value.count))
            if value.count <= 4 {
                out += value + [UInt8](repeating: 0, count: 4 - value.count)
            } else {
                out += le32(UInt32(dataOffset))
                data += value
                if value.count % 2 == 1 { data.append(0) }
                dataOffset = 8 + ifdSize + data.count
            }
        }
        out += le32(0)
        return out + data
    }

    /// The ASCII (type 2) entries of IFD0 of a TIFF structure, in file order.
    ///
    /// Accepts an optional `Exif\0\0` prefix and both byte orders. Values end at their first NUL and
    /// are decoded as UTF-8 (Latin-1 when not valid UTF-8). Entries of other types are skipped;
    /// malformed data gives the entries read so far (an empty array when the header is invalid).
    /// - Parameter tiff: the TIFF (or `Exif\0\0` + TIFF) bytes.
    public static func entries(_ tiff: [UInt8]) -> [(tag: UInt16, value: String)] {
        var bytes = ArraySlice(tiff)
        if bytes.count >= 6, Array(bytes.prefix(6)) == Array("Exif".utf8) + [0, 0] { bytes = bytes.dropFirst(6) }
        let b = Array(bytes)
        guard b.count >= 8 else { return [] }
        let little: Bool
        if b[0] == 0x49, b[1] == 0x49, b[2] == 0x2A, b[3] == 0 { little = true }
        else if b[0] == 0x4D, b[1] == 0x4D, b[2] == 0, b[3] == 0x2A { little = false }
        else { return [] }
        func u16(_ i: Int) -> Int {
            little ? Int(b[i]) | Int(b[i + 1]) << 8 : Int(b[i]) << 8 | Int(b[i + 1])
        }
        func u32(_ i: Int) -> Int {
            little ? u16(i) | u16(i + 2) << 16 : u16(i) << 16 | u16(i + 2)
        }
        let ifd = u32(4)
        guard ifd >= 8, ifd <= b.count - 2 else { return [] }
        let count = u16(ifd)
        var result: [(tag: UInt16, value: String)] = []
        for n in 0..<count {
            let entry = ifd + 2 + 12 * n
            guard entry + 12 <= b.count else { break }
            guard u16(entry + 2) == 2 else { continue }
            let length = u32(entry + 4)
            let start = length <= 4 ? entry + 8 : u32(entry + 8)
            guard start <= b.count, length <= b.count - start else { continue }
            var raw = b[start..<(start + length)]
            if let nul = raw.firstIndex(of: 0) { raw = raw[..<nul] }
            let value = String(validating: raw, as: UTF8.self)
                ?? String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) }))
            result.append((tag: UInt16(u16(entry)), value: value))
        }
        return result
    }

    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
    }
}
