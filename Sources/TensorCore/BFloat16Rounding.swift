/// float32 → bfloat16 rounding (to nearest, ties to even; a NaN stays a quiet NaN), vectorised.
public enum BFloat16Rounding {
    /// Rounds `count` contiguous float32 values into bfloat16 bit patterns.
    public static func narrow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, _ count: Int) {
        typealias U = SIMD16<UInt32>
        let raw = UnsafeRawPointer(x)
        var i = 0
        while i + 16 <= count {
            let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: U.self)
            var rounded = (bits &+ (U(repeating: 0x7FFF) &+ ((bits &>> 16) & 1))) &>> 16
            let isNaN = (bits & 0x7FFF_FFFF) .> U(repeating: 0x7F80_0000)
            rounded.replace(with: (bits &>> 16) | 0x40, where: isNaN)
            UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: rounded), as: SIMD16<UInt16>.self)
            i += 16
        }
        while i < count {
            y[i] = bits(x[i])
            i += 1
        }
    }

    /// One value's bfloat16 bit pattern.
    @inline(__always)
    public static func bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
