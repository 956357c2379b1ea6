/// The byte-level BPE alphabet of GPT-2 and CLIP: a reversible map from the 256 byte values to
/// 256 printable Unicode scalars.
///
/// Byte-level BPE (Radford et al., "Language Models are Unsupervised Multitask Learners", 2019)
/// runs its merges over bytes but stores the vocabulary as text. Bytes that are printable Latin-1
/// characters (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the remaining 68 bytes (controls,
/// space, soft hyphen…) are given the scalars U+0100 onwards in byte order.
enum ByteLevelAlphabet {
    /// `scalars[b]` is the vocabulary scalar of byte `b`.
    static let scalars: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The vocabulary spelling of one byte.
    static func symbol(for byte: UInt8) -> String { String(Character(scalars[Int(byte)])) }
}
