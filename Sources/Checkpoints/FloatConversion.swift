/// Widening of IEEE 754 binary16 (F16) and bfloat16 (BF16) values to binary32, by bit manipulation.
///
/// Both conversions are exact: every F16 and BF16 value, including subnormals, infinities and NaNs
/// (payload kept), has a binary32 representation.
public enum FloatConversion {
    /// The binary32 value of the binary16 bit pattern `bits`.
    ///
    /// Re-biases the exponent by 127 − 15 = 112; subnormals are normalised with one float subtraction
    /// (the "magic number" method), infinities and NaNs get the all-ones exponent.
    @inline(__always)
    public static func float(fromHalfBits bits: UInt16) -> Float {
        let h = UInt32(bits)
        var u = (h & 0x7FFF) << 13
        let exponent = u & 0x0F80_0000
        u &+= 112 << 23
        if exponent == 0x0F80_0000 {
            u &+= 128 << 23 - 16 << 23  // Inf/NaN: exponent all ones
        } else if exponent == 0 {
            u &+= 1 << 23  // zero/subnormal: renormalise
            u = (Float(bitPattern: u) - Float(bitPattern: 113 << 23)).bitPattern
        }
        return Float(bitPattern: u | (h & 0x8000) << 16)
    }

    /// The binary32 value of the bfloat16 bit pattern `bits` (its upper 16 bits).
    @inline(__always)
    public static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Converts `count` little-endian elements of `dtype` from `source` into `destination`.
    ///
    /// - Precondition: `dtype.convertsToFloat`, `source` holds `destination.count` elements.
    public static func convert(
        _ source: UnsafeRawBufferPointer, dtype: SafetensorsDType, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        let n = destination.count
        precondition(source.count == n * dtype.byteSize, "byte count does not match element count")
        guard n > 0, let out = destination.baseAddress else { return }
        switch dtype {
        case .f32:
            #if _endian(little)
            UnsafeMutableRawPointer(out).copyMemory(from: source.baseAddress!, byteCount: n * 4)
            #else
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            #endif
        case .f16:
            for i in 0..<n {
                out[i] = float(fromHalfBits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<n {
                out[i] = float(fromBFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        default:
            preconditionFailure("\(dtype.rawValue) does not convert to Float")
        }
    }
}
