/// The queue service's protobuf messages (EAS `queueservice.proto`), encoded and decoded by hand:
///
///     message DataFrameProto { uint64 index = 1; map<string,string> tags = 2; bytes data = 3; string message = 4; }
///     message DataFrameListProto { repeated DataFrameProto index = 1; }
///     message AttributesProto { map<string,string> attributes = 1; }
///
/// Field numbers are the wire contract; proto3 omits zero and empty fields and ignores unknown ones.
public enum QueueProto {
    /// One frame of a watch stream or a `get` answer.
    public struct Frame: Sendable, Equatable {
        public var index: UInt64
        /// Tags in the order they are written (sorted by key for a stable encoding).
        public var tags: [(key: String, value: String)]
        public var data: [UInt8]
        public var message: String

        public init(index: UInt64, tags: [(key: String, value: String)] = [], data: [UInt8] = [], message: String = "") {
            self.index = index
            self.tags = tags
            self.data = data
            self.message = message
        }

        public static func == (a: Frame, b: Frame) -> Bool {
            a.index == b.index && a.data == b.data && a.message == b.message
                && a.tags.map(\.key) == b.tags.map(\.key) && a.tags.map(\.value) == b.tags.map(\.value)
        }

        public func tag(_ key: String) -> String? { tags.first { $0.key == key }?.value }
    }

    /// A malformed protobuf message.
    public struct DecodeError: Error, Sendable, Equatable {
        public var message: String
    }

    // MARK: Encoding

    public static func encode(_ frame: Frame) -> [UInt8] {
        var out: [UInt8] = []
        if frame.index != 0 {
            out.append(0x08)
            appendVarint(frame.index, to: &out)
        }
        for (key, value) in frame.tags { appendMapEntry(field: 2, key: key, value: value, to: &out) }
        if !frame.data.isEmpty { appendBytes(field: 3, frame.data, to: &out) }
        if !frame.message.isEmpty { appendBytes(field: 4, Array(frame.message.utf8), to: &out) }
        return out
    }

    public static func encode(list frames: [Frame]) -> [UInt8] {
        var out: [UInt8] = []
        for frame in frames { appendBytes(field: 1, encode(frame), to: &out) }
        return out
    }

    public static func encode(attributes: [(key: String, value: String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in attributes { appendMapEntry(field: 1, key: key, value: value, to: &out) }
        return out
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendBytes(field: UInt64, _ bytes: [UInt8], to out: inout [UInt8]) {
        appendVarint(field << 3 | 2, to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out += bytes
    }

    static func appendMapEntry(field: UInt64, key: String, value: String, to out: inout [UInt8]) {
        var entry: [UInt8] = []
        if !key.isEmpty { appendBytes(field: 1, Array(key.utf8), to: &entry) }
        if !value.isEmpty { appendBytes(field: 2, Array(value.utf8), to: &entry) }
        appendBytes(field: field, entry, to: &out)
    }

    // MARK: Decoding

    public static func decodeFrame(_ bytes: [UInt8]) throws(DecodeError) -> Frame {
        var frame = Frame(index: 0)
        var reader = Reader(bytes: bytes[...])
        while let (field, wire) = try reader.key() {
            switch (field, wire) {
            case (1, 0): frame.index = try reader.varint()
            case (2, 2): frame.tags.append(try reader.mapEntry())
            case (3, 2): frame.data = Array(try reader.lengthDelimited())
            case (4, 2): frame.message = String(decoding: try reader.lengthDelimited(), as: UTF8.self)
            default: try reader.skip(wire)
            }
        }
        return frame
    }

    public static func decodeList(_ bytes: [UInt8]) throws(DecodeError) -> [Frame] {
        var frames: [Frame] = []
        var reader = Reader(bytes: bytes[...])
        while let (field, wire) = try reader.key() {
            if field == 1 && wire == 2 {
                frames.append(try decodeFrame(Array(try reader.lengthDelimited())))
            } else {
                try reader.skip(wire)
            }
        }
        return frames
    }

    public static func decodeAttributes(_ bytes: [UInt8]) throws(DecodeError) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        var reader = Reader(bytes: bytes[...])
        while let (field, wire) = try reader.key() {
            if field == 1 && wire == 2 { out.append(try reader.mapEntry()) } else { try reader.skip(wire) }
        }
        return out
    }

    struct Reader {
        var bytes: ArraySlice<UInt8>

        mutating func varint() throws(DecodeError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard let b = bytes.popFirst() else { throw DecodeError(message: "truncated varint") }
                guard shift < 64 else { throw DecodeError(message: "varint too long") }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }

        mutating func key() throws(DecodeError) -> (UInt64, UInt64)? {
            if bytes.isEmpty { return nil }
            let k = try varint()
            guard k >> 3 != 0 else { throw DecodeError(message: "field number 0") }
            return (k >> 3, k & 7)
        }

        mutating func lengthDelimited() throws(DecodeError) -> ArraySlice<UInt8> {
            let n = try varint()
            guard n <= UInt64(bytes.count) else { throw DecodeError(message: "truncated field") }
            let part = bytes.prefix(Int(n))
            bytes = bytes.dropFirst(Int(n))
            return part
        }

        mutating func mapEntry() throws(DecodeError) -> (key: String, value: String) {
            var entry = Reader(bytes: try lengthDelimited())
            var key = "", value = ""
            while let (field, wire) = try entry.key() {
                switch (field, wire) {
                case (1, 2): key = String(decoding: try entry.lengthDelimited(), as: UTF8.self)
                case (2, 2): value = String(decoding: try entry.lengthDelimited(), as: UTF8.self)
                default: try entry.skip(wire)
                }
            }
            return (key, value)
        }

        mutating func skip(_ wire: UInt64) throws(DecodeError) {
            switch wire {
            case 0: _ = try varint()
            case 1:
                guard bytes.count >= 8 else { throw DecodeError(message: "truncated fixed64") }
                bytes = bytes.dropFirst(8)
            case 2: _ = try lengthDelimited()
            case 5:
                guard bytes.count >= 4 else { throw DecodeError(message: "truncated fixed32") }
                bytes = bytes.dropFirst(4)
            default: throw DecodeError(message: "unsupported wire type \(wire)")
            }
        }
    }
}
