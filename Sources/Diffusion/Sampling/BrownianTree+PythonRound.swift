extension BrownianTree {
    /// Python's `round(x, digits)` for a float: the double nearest to `x` rounded to `digits` decimal places,
    /// where the decimal rounding is exact (on the binary value of `x`) and ties go to even, as CPython does
    /// with its correctly rounded `dtoa`.
    ///
    /// torchsde quantises every time to its tolerance with this function, so the tree's split points, and with
    /// them every seed and bridge coefficient, depend on it bit for bit.
    public static func pythonRound(_ x: Double, digits: Int) -> Double {
        precondition((0...18).contains(digits), "pythonRound: unsupported digit count \(digits)")
        guard x.isFinite, x != 0 else { return x }
        let magnitude = x.magnitude
        // Doubles at or above 2^52 are integers already.
        if magnitude >= 0x1p52 { return x }
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        // magnitude = significand · 2^exponent with an integer significand below 2^53.
        let exponent = Int(magnitude.exponent) - 52
        let significand = magnitude.significandBitPattern | (magnitude.isNormal ? 1 << 52 : 0)
        let unbiasedExponent = magnitude.isNormal ? exponent : -1074
        let scaled = UInt128(significand) * UInt128(scale)
        var rounded: UInt128
        if unbiasedExponent >= 0 {
            rounded = scaled << UInt128(unbiasedExponent)
        } else {
            let shift = -unbiasedExponent
            if shift >= 127 {
                rounded = 0
            } else {
                let quotient = scaled >> UInt128(shift)
                let remainder = scaled - (quotient << UInt128(shift))
                let half = UInt128(1) << UInt128(shift - 1)
                rounded = quotient
                if remainder > half || (remainder == half && quotient & 1 == 1) { rounded += 1 }
            }
        }
        // The decimal value rounded to the nearest double (strtod is correctly rounded).
        let value: Double
        if digits <= 15 && rounded < UInt128(1) << 53 {
            // Both operands are exact, so the IEEE quotient is the correctly rounded decimal.
            value = Double(UInt64(rounded)) / Double(scale)
        } else {
            value = Double("\(rounded)e-\(digits)")!
        }
        return x < 0 ? -value : value
    }
}
