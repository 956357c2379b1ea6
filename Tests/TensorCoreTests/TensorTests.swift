import Testing
import TensorCore

/// Owns a malloc'd block for borrowed-storage tests.
private final class ByteBlock {
    let pointer: UnsafeMutableRawPointer
    init(floats: [Float]) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: floats.count * 4, alignment: 16)
        floats.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
    deinit { pointer.deallocate() }
    func float(_ i: Int) -> Float { pointer.load(fromByteOffset: i * 4, as: Float.self) }
}

@Suite("Tensor: views, copy-on-write, dtypes")
struct TensorTests {
    let matrix = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])

    @Test func viewsShareStorage() {
        #expect(matrix.permuted([1, 0]).storage === matrix.storage)
        #expect(matrix.transposed(0, 1).storage === matrix.storage)
        #expect(matrix.narrowed(dim: 1, start: 1, length: 2).storage === matrix.storage)
        #expect(matrix.reshaped([3, 2]).storage === matrix.storage)
        #expect(matrix.unsqueezed(0).storage === matrix.storage)
        #expect(matrix.narrowed(dim: 0, start: 0, length: 1).expanded(to: [4, 3]).storage === matrix.storage)
        #expect(matrix.narrowed(dim: 0, start: 1, length: 1).offset == 3)
    }

    @Test func copyOnWriteProtectsViews() {
        var a = matrix
        let view = a.permuted([1, 0])
        let before = ObjectIdentifier(a.storage)
        a.withMutableFloats { $0[0] = 100 }
        #expect(ObjectIdentifier(a.storage) != before, "a shared storage must be copied before a write")
        #expect(a.scalars == [100, 2, 3, 4, 5, 6])
        #expect(view.scalars == [1, 4, 2, 5, 3, 6])
        #expect(matrix.scalars == [1, 2, 3, 4, 5, 6])

        // A uniquely owned dense float32 tensor is written in place.
        var unique = Tensor(shape: [3], scalars: [1, 2, 3])
        let identity = ObjectIdentifier(unique.storage)
        unique.withMutableFloats { $0[2] = 7 }
        #expect(ObjectIdentifier(unique.storage) == identity)
        #expect(unique.scalars == [1, 2, 7])

        // Writing through a view materialises the view only.
        var window = matrix.narrowed(dim: 1, start: 1, length: 2)
        window.withMutableFloats { $0[0] = -1 }
        #expect(window.shape == [2, 2] && window.scalars == [-1, 3, 5, 6])
        #expect(matrix.scalars == [1, 2, 3, 4, 5, 6])
    }

    @Test func contiguousMaterialisesViews() {
        let permuted = matrix.permuted([1, 0])
        #expect(!permuted.isContiguous)
        #expect(permuted.shape == [3, 2])
        let dense = permuted.contiguous()
        #expect(dense.isContiguous && dense.strides == [2, 1])
        #expect(dense.scalars == [1, 4, 2, 5, 3, 6])

        let narrowed = matrix.narrowed(dim: 1, start: 1, length: 2)
        #expect(!narrowed.isContiguous)
        #expect(narrowed.contiguous().scalars == [2, 3, 5, 6])
        #expect(matrix.narrowed(dim: 0, start: 1, length: 1).isContiguous)

        let expanded = Tensor(shape: [1, 3], scalars: [7, 8, 9]).expanded(to: [2, 2, 3])
        #expect(expanded.strides == [0, 0, 1])
        #expect(expanded.contiguous().scalars == [7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9])

        let cube = Tensor(shape: [2, 2, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
        #expect(cube.permuted([2, 0, 1]).scalars == [0, 2, 4, 6, 1, 3, 5, 7])
        #expect(cube.unsqueezed(1).shape == [2, 1, 2, 2])
        #expect(cube.unsqueezed(-1).shape == [2, 2, 2, 1])
        #expect(cube.unsqueezed(1).squeezed(1).scalars == cube.scalars)
        #expect(contiguousUnchanged(matrix))
    }

    private func contiguousUnchanged(_ t: Tensor) -> Bool { t.contiguous().storage === t.storage }

    @Test func reshapedInfersOneDimension() {
        let t = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        #expect(t.reshaped([-1, 4]).shape == [6, 4])
        #expect(t.reshaped([4, -1]).shape == [4, 6])
        #expect(t.reshaped([-1]).shape == [24])
        // A non-contiguous tensor is copied in row-major order.
        let permuted = t.permuted([2, 1, 0])
        let flat = permuted.reshaped([-1])
        #expect(flat.storage !== t.storage)
        #expect(flat.scalars == permuted.scalars)
        #expect(Array(flat.scalars.prefix(4)) == [0, 12, 4, 16])
    }

    @Test func dtypeConversions() {
        // bfloat16 rounds to nearest even: 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷ (even: 1); 1 + 3·2⁻⁸ is halfway
        // between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶ (even); anything above halfway rounds up; 3.4e38 overflows.
        let values: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, -2.5, 3.0e38, 3.4e38, .infinity]
        let bf16 = Tensor(shape: [7], scalars: values).contiguous(as: .bfloat16)
        #expect(bf16.dtype == .bfloat16 && bf16.storage.byteCount == 14)
        #expect(bf16.scalars == [1, 1 + 0x1p-6, 1 + 0x1p-7, -2.5, 3.0040553e38, .infinity, .infinity])
        let nan = Tensor(shape: [1], scalars: [.nan]).contiguous(as: .bfloat16).scalars[0]
        #expect(nan.isNaN)

        let f16 = Tensor(shape: [4], scalars: [1.0 / 3.0, 65504, 70000, -0.000061035156]).contiguous(as: .float16)
        #expect(f16.dtype == .float16)
        #expect(f16.scalars == [Float(Float16(1.0 / 3.0)), 65504, .infinity, -0.000061035156])
        #expect(f16.scalars[0] == 0.33325195)

        let u8 = Tensor(shape: [4], scalars: [-3, 0.5, 254.9, 300]).contiguous(as: .uint8)
        #expect(u8.scalars == [0, 0, 254, 255])

        // Converting a view converts the viewed elements only.
        let half = matrix.permuted([1, 0]).contiguous(as: .float16)
        #expect(half.shape == [3, 2] && half.scalars == [1, 4, 2, 5, 3, 6])
        #expect(half.converted(to: .float16).storage === half.storage)
    }

    @Test func int64Tensors() {
        let ids = Tensor(shape: [2, 3], int64s: [49406, 320, 49407, 0, -1, Int64(1) << 40])
        #expect(ids.dtype == .int64)
        #expect(ids.int64Values == [49406, 320, 49407, 0, -1, 1 << 40])
        #expect(ids.permuted([1, 0]).int64Values == [49406, 0, 320, -1, 49407, 1 << 40])
        #expect(ids.narrowed(dim: 1, start: 1, length: 1).int64Values == [320, -1])
        #expect(ids.permuted([1, 0]).contiguous().dtype == .int64)
        #expect(Tensor(shape: [2], scalars: [1.7, -2.5]).contiguous(as: .int64).int64Values == [1, -2])
        #expect(Tensor(shape: [2], int64s: [3, -4]).scalars == [3, -4])
        #expect(ids == Tensor(shape: [2, 3], int64s: [49406, 320, 49407, 0, -1, 1 << 40]))
    }

    @Test func concatenatedAlongInnerDimensions() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 3], scalars: [5, 6, 7, 8, 9, 10])
        let joined = Tensor.concatenated([a, b], dim: 1)
        #expect(joined.shape == [2, 5])
        #expect(joined.scalars == [1, 2, 5, 6, 7, 3, 4, 8, 9, 10])
        #expect(Tensor.concatenated([a, b], dim: -1) == joined)

        // Views and other dtypes are read through their layout; the result takes the first dtype.
        let c = Tensor(shape: [2, 1, 2], scalars: [1, 2, 3, 4])
        let d = Tensor(shape: [2, 2, 1], scalars: [5, 6, 7, 8]).permuted([0, 2, 1]).contiguous(as: .float16)
        let mixed = Tensor.concatenated([c, d], dim: 1)
        #expect(mixed.shape == [2, 2, 2] && mixed.dtype == .float32)
        #expect(mixed.scalars == [1, 2, 5, 6, 3, 4, 7, 8])

        let rows = Tensor.concatenated([a, a.narrowed(dim: 0, start: 1, length: 1)], dim: 0)
        #expect(rows.shape == [3, 2] && rows.scalars == [1, 2, 3, 4, 3, 4])
    }

    @Test func borrowedStorageIsCopiedBeforeWrites() {
        let block = ByteBlock(floats: [1, 2, 3, 4])
        let storage = TensorStorage(borrowing: block.pointer, byteCount: 16, owner: block)
        #expect(storage.isReadOnly)
        var t = Tensor(storage: storage, dtype: .float32, shape: [2, 2])
        #expect(t.scalars == [1, 2, 3, 4])
        t.withMutableFloats { $0[0] = 42 }
        #expect(t.scalars == [42, 2, 3, 4])
        #expect(!t.storage.isReadOnly)
        #expect(block.float(0) == 1, "the borrowed memory must not be written")

        // Reading a borrowed float32 tensor copies nothing.
        let view = Tensor(storage: storage, dtype: .float32, shape: [4])
        #expect(view.contiguous().storage === storage)
    }
}
