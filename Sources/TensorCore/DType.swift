/// Element types a ``Tensor`` can hold.
public enum DType: String, Sendable, CaseIterable, Codable {
    case float32 = "f32"
    case float16 = "f16"
    case bfloat16 = "bf16"
    case int64 = "i64"
    case uint8 = "u8"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float16, .bfloat16: return 2
        case .int64: return 8
        case .uint8: return 1
        }
    }

    public var isFloatingPoint: Bool { self == .float32 || self == .float16 || self == .bfloat16 }
}
