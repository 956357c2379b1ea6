import Testing
import TensorCore

@Suite("Tensor dtype widening")
struct TensorConversionTests {
    /// Every float16 bit pattern widens exactly as Swift's own `Float16 → Float` conversion.
    @Test func everyHalfPatternWidensExactly() {
        let storage = TensorStorage(byteCount: 65536 * 2)
        let bits = storage.pointer.assumingMemoryBound(to: UInt16.self)
        for i in 0..<65536 { bits[i] = UInt16(i) }
        let widened = Tensor(storage: storage, dtype: .float16, shape: [65536]).scalars
        var mismatches = 0
        for i in 0..<65536 {
            let expected = Float(Float16(bitPattern: UInt16(i)))
            let got = widened[i]
            if expected.isNaN ? !got.isNaN : expected.bitPattern != got.bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// Half → bfloat16 (a half checkpoint loaded as a bfloat16 model) rounds the exact float value once, for every
    /// pattern; NaN stays NaN.
    @Test func everyHalfPatternNarrowsToBFloat16ThroughItsFloatValue() {
        let storage = TensorStorage(byteCount: 65536 * 2)
        let bits = storage.pointer.assumingMemoryBound(to: UInt16.self)
        for i in 0..<65536 { bits[i] = UInt16(i) }
        let narrowed = Tensor(storage: storage, dtype: .float16, shape: [65536]).converted(to: .bfloat16)
        let out = narrowed.baseAddress.assumingMemoryBound(to: UInt16.self)
        var mismatches = 0
        withExtendedLifetime(narrowed) {
            for i in 0..<65536 {
                let value = Float(Float16(bitPattern: UInt16(i)))
                let got = Float(bitPattern: UInt32(out[i]) << 16)
                if value.isNaN ? !got.isNaN : out[i] != BFloat16Rounding.bits(value) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }

    /// A transposed half-precision weight widens in one pass and keeps its strides; other views become dense.
    @Test func permutedHalfViewsWidenKeepingTheirLayout() {
        let values = (0..<12).map { Float($0) * 0.25 - 1 }
        let transposed = Tensor(shape: [3, 4], scalars: values).converted(to: .float16).transposed(0, 1)
        #expect(transposed.isDensePermutation && !transposed.isContiguous)
        let wide = transposed.float32KeepingLayout()
        #expect(wide.dtype == .float32 && wide.strides == transposed.strides && wide.shape == [4, 3])
        #expect(wide.scalars == Tensor(shape: [3, 4], scalars: values).transposed(0, 1).scalars)
        let narrowed = Tensor(shape: [3, 4], scalars: values).converted(to: .float16).narrowed(dim: 1, start: 1, length: 2)
        #expect(!narrowed.isDensePermutation)
        let dense = narrowed.float32KeepingLayout()
        #expect(dense.isContiguous && dense.scalars == [values[1], values[2], values[5], values[6], values[9], values[10]])
    }

    /// bfloat16 widening is a 16-bit shift, for every pattern.
    @Test func everyBFloat16PatternWidensExactly() {
        let storage = TensorStorage(byteCount: 65536 * 2)
        let bits = storage.pointer.assumingMemoryBound(to: UInt16.self)
        for i in 0..<65536 { bits[i] = UInt16(i) }
        let widened = Tensor(storage: storage, dtype: .bfloat16, shape: [65536]).scalars
        #expect((0..<65536).allSatisfy { widened[$0].bitPattern == UInt32($0) << 16 })
    }

    /// A strided (non-contiguous) half view goes through the general path and agrees.
    @Test func stridedHalfViewAgreesWithContiguous() {
        let storage = TensorStorage(byteCount: 12 * 2)
        let halves = storage.pointer.assumingMemoryBound(to: Float16.self)
        for i in 0..<12 { halves[i] = Float16(Float(i) * 0.5 - 2) }
        let matrix = Tensor(storage: storage, dtype: .float16, shape: [3, 4])
        let transposed = matrix.transposed(0, 1)
        #expect(transposed.scalars == [-2, 0, 2, -1.5, 0.5, 2.5, -1, 1, 3, -0.5, 1.5, 3.5])
        #expect(matrix.scalars == (0..<12).map { Float($0) * 0.5 - 2 })
    }
}

@Suite("Tensor narrowing casts")
struct TensorNarrowingTests {
    /// Non-finite and out-of-range floats cast to int64/uint8 without trapping.
    @Test func nonFiniteValuesDoNotTrap() {
        let t = Tensor(shape: [5], scalars: [.nan, .infinity, -.infinity, 1e30, -2.7])
        #expect(t.int64Values == [Int64.min, Int64.min, Int64.min, Int64.min, -2])
        #expect(t.converted(to: .int64).int64Values == [Int64.min, Int64.min, Int64.min, Int64.min, -2])
        #expect(t.converted(to: .uint8).scalars == [0, 255, 0, 255, 0])
    }
}
