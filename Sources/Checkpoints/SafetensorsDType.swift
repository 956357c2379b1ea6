/// The element types a safetensors header may declare.
///
/// Named apart from the engine's own tensor `DType` (TensorCore): this one describes how bytes are stored
/// in a file, including types the engine does not compute in (F8, BOOL, unsigned integers).
public enum SafetensorsDType: String, Sendable, Hashable, Codable, CaseIterable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f8e4m3 = "F8_E4M3"
    case f8e5m2 = "F8_E5M2"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u64 = "U64"
    case u32 = "U32"
    case u16 = "U16"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: 1
        }
    }

    /// Whether `SafetensorsFile.floats(_:)` can convert this dtype to `Float`.
    public var convertsToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16: true
        default: false
        }
    }
}
