import Foundation

/// The request signature of EAS's synchronous `PredictClient`: `Authorization: EAS <base64 HMAC-SHA1>` over
///
///     "POST\n" + <Content-MD5> + "\n" + <Content-Type> + "\n" + <Date> + "\n" + <path>
///
/// (leading and trailing whitespace of the whole string removed), keyed with the service token, where
/// `Content-MD5` is the lowercase hex MD5 of the body. MD5, SHA-1 and HMAC are implemented here so the server
/// needs no cryptography package; they serve this signature only (SHA-1 and MD5 are not secure hashes).
public enum EASSignature {
    /// The `Authorization` scheme prefix of a signed request.
    public static let scheme = "EAS "

    // MARK: Signature

    /// The string the signature covers, whitespace-trimmed at both ends as the SDK does.
    public static func canonicalString(contentMD5: String, contentType: String, date: String, path: String) -> String {
        ("POST\n" + contentMD5 + "\n" + contentType + "\n" + date + "\n" + path)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The base64 HMAC-SHA1 signature of a request (without the `EAS ` prefix).
    public static func signature(token: String, contentMD5: String, contentType: String, date: String, path: String) -> String {
        let message = canonicalString(contentMD5: contentMD5, contentType: contentType, date: date, path: path)
        return Data(hmacSHA1(key: Array(token.utf8), message: Array(message.utf8))).base64EncodedString()
    }

    /// The full `Authorization` value a `PredictClient` sends for a body, content type, date and path.
    public static func authorization(token: String, body: [UInt8], contentType: String, date: String, path: String) -> String {
        scheme + signature(token: token, contentMD5: hex(md5(body)), contentType: contentType, date: date, path: path)
    }

    /// Checks a signed request: the `Authorization` value must be `EAS ` + the signature over the received
    /// `Content-MD5`, `Content-Type` and `Date` headers (absent headers count as empty) and one of `paths`, and
    /// `Content-MD5` must be the hex MD5 of `body`. The date is not checked for freshness (the SDK sends local
    /// time labelled GMT).
    public static func verify(authorization: String, token: String, contentMD5: String?, contentType: String?, date: String?,
                              paths: [String], body: [UInt8]) -> Bool {
        signatureMatches(authorization: authorization, token: token, contentMD5: contentMD5, contentType: contentType,
                         date: date, paths: paths)
            && bodyMatches(contentMD5: contentMD5, body: body)
    }

    /// The header half of ``verify(authorization:token:contentMD5:contentType:date:paths:body:)``: whether the
    /// signature is right for the headers and one of `paths` (checked before the body is read).
    public static func signatureMatches(authorization: String, token: String, contentMD5: String?, contentType: String?,
                                        date: String?, paths: [String]) -> Bool {
        guard authorization.hasPrefix(scheme) else { return false }
        let given = Array(String(authorization.dropFirst(scheme.count)).trimmingCharacters(in: .whitespaces).utf8)
        let md5Header = contentMD5?.trimmingCharacters(in: .whitespaces) ?? ""
        var signed = false
        for path in paths {
            let expected = signature(token: token, contentMD5: md5Header, contentType: contentType ?? "", date: date ?? "", path: path)
            if constantTimeEqual(given, Array(expected.utf8)) { signed = true }
        }
        return signed
    }

    /// Whether `Content-MD5` (hex, either case) is the MD5 of `body`.
    public static func bodyMatches(contentMD5: String?, body: [UInt8]) -> Bool {
        let header = contentMD5?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return constantTimeEqual(Array(header.utf8), Array(hex(md5(body)).utf8))
    }

    static func constantTimeEqual(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }

    /// Lowercase hexadecimal.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: HMAC-SHA1 (RFC 2104)

    /// HMAC-SHA1 of `message` under `key` (20 bytes).
    public static func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let blockSize = 64
        var k = key.count > blockSize ? sha1(key) : key
        k += [UInt8](repeating: 0, count: blockSize - k.count)
        let inner = sha1(k.map { $0 ^ 0x36 } + message)
        return sha1(k.map { $0 ^ 0x5C } + inner)
    }

    // MARK: SHA-1 (FIPS 180-4)

    /// SHA-1 digest (20 bytes).
    public static func sha1(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        let padded = pad(message, lengthBigEndian: true)
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(padded[j]) << 24 | UInt32(padded[j + 1]) << 16 | UInt32(padded[j + 2]) << 8 | UInt32(padded[j + 3])
            }
            for i in 16..<80 { w[i] = rotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
            for i in 0..<80 {
                let f: UInt32, k: UInt32
                switch i {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let t = rotateLeft(a, 5) &+ f &+ e &+ k &+ w[i]
                e = d; d = c; c = rotateLeft(b, 30); b = a; a = t
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
        }
        return h.flatMap { bytes(of: $0, bigEndian: true) }
    }

    // MARK: MD5 (RFC 1321)

    /// Per-round shift amounts.
    private static let md5Shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]

    /// `floor(|sin(i + 1)| · 2³²)`, as RFC 1321 defines the constants (exact in double precision).
    private static let md5Constants: [UInt32] = (0..<64).map { i in
        UInt32(truncatingIfNeeded: Int64((abs(sin(Double(i + 1))) * 4_294_967_296).rounded(.down)))
    }

    /// MD5 digest (16 bytes).
    public static func md5(_ message: [UInt8]) -> [UInt8] {
        var a0: UInt32 = 0x6745_2301, b0: UInt32 = 0xEFCD_AB89, c0: UInt32 = 0x98BA_DCFE, d0: UInt32 = 0x1032_5476
        let padded = pad(message, lengthBigEndian: false)
        var m = [UInt32](repeating: 0, count: 16)
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                m[i] = UInt32(padded[j]) | UInt32(padded[j + 1]) << 8 | UInt32(padded[j + 2]) << 16 | UInt32(padded[j + 3]) << 24
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ md5Constants[i] &+ m[g]
                a = d; d = c; c = b
                b = b &+ rotateLeft(f, md5Shifts[i])
            }
            a0 &+= a; b0 &+= b; c0 &+= c; d0 &+= d
        }
        return [a0, b0, c0, d0].flatMap { bytes(of: $0, bigEndian: false) }
    }

    // MARK: Shared

    /// Merkle–Damgård padding: 0x80, zeros to 56 mod 64, then the bit length in 8 bytes.
    private static func pad(_ message: [UInt8], lengthBigEndian: Bool) -> [UInt8] {
        var out = message
        let bitLength = UInt64(message.count) &* 8
        out.append(0x80)
        while out.count % 64 != 56 { out.append(0) }
        for i in 0..<8 {
            let shift = lengthBigEndian ? UInt64(56 - 8 * i) : UInt64(8 * i)
            out.append(UInt8(truncatingIfNeeded: bitLength >> shift))
        }
        return out
    }

    private static func bytes(of value: UInt32, bigEndian: Bool) -> [UInt8] {
        let little: [UInt8] = (0..<4).map { i in UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
        return bigEndian ? little.reversed() : little
    }

    private static func rotateLeft(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}
