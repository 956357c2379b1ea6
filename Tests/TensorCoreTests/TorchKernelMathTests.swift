import Testing
@testable import TensorCore

@Suite("Float math of torch's normal kernels")
struct TorchKernelMathTests {
    typealias F8 = SIMD8<Float>

    @Test("fma32 rounds correctly where the double sum lands on a float32 midpoint")
    func fma32Midpoints() {
        // a·b = 2^-24 + 2^-70 exactly: 1 + a·b rounds to the midpoint 1 + 2^-24 in double, but lies above it.
        let a = F8(repeating: Float(8_392_705) * 0x1p-23)
        let b = F8(repeating: Float(16_769_026) * 0x1p-48)
        #expect(TorchAVX2Math.fma32(a, b, 1)[0] == Float(1).nextUp)
        // a·b = 2^-24 - 2^-71: (1 + 2^-23) + a·b lies just below the midpoint above the odd 1 + 2^-23.
        let c = F8(repeating: Float(10_610_063) * 0x1p-23)
        let d = F8(repeating: Float(13_264_529) * 0x1p-48)
        #expect(TorchAVX2Math.fma32(c, d, Float(1).nextUp)[0] == Float(1).nextUp)
    }

    @Test("fma32 equals Float.addingProduct on pseudo-random operands")
    func fma32Random() {
        var engine = MT19937(seed: 1234)
        func next() -> Float {
            // Mantissa and sign random, exponent in a moderate range (no overflow or underflow).
            let bits = engine.next()
            return Float(bitPattern: (bits & 0x807F_FFFF) | ((100 + (bits >> 23) % 50) << 23))
        }
        for _ in 0..<2000 {
            var a = F8(), b = F8(), c = F8()
            for lane in 0..<8 { a[lane] = next(); b[lane] = next(); c[lane] = next() * 0x1p-20 }
            let result = TorchAVX2Math.fma32(a, b, c)
            for lane in 0..<8 {
                #expect(result[lane].bitPattern == c[lane].addingProduct(a[lane], b[lane]).bitPattern)
            }
        }
    }

    @Test("glibc logf/sinf/cosf emulation at known values")
    func glibcMath() {
        #expect(GlibcFloatMath.logf(1) == 0)
        #expect(GlibcFloatMath.logf(0.5) == -0.6931472)
        #expect(GlibcFloatMath.cosf(0) == 1)
        #expect(GlibcFloatMath.sinf(0) == 0)
        #expect(abs(GlibcFloatMath.sinf(Float.pi / 2) - 1) <= Float(1).ulp)
        #expect(abs(GlibcFloatMath.cosf(Float.pi) + 1) <= Float(1).ulp)
    }

    @Test("double log and sincos are accurate to an ulp or two")
    func doubleMath() {
        #expect(DoubleMath.log(1) == 0)
        #expect(abs(DoubleMath.log(0.5) + 0.6931471805599453) <= 2 * 0.6931471805599453.ulp)
        let (s, c) = DoubleMath.sincos(Double.pi / 6)
        #expect(abs(s - 0.5) <= 2 * 0.5.ulp)
        #expect(abs(c - 0.8660254037844386) <= 2 * 0.8660254037844386.ulp)
        let (s2, c2) = DoubleMath.sincos(5.5)
        #expect(abs(s2 - -0.70554032557039192) <= 2 * 0.70554032557039192.ulp)
        #expect(abs(c2 - 0.70866977429126) <= 2 * 0.70866977429126.ulp)
    }
}
