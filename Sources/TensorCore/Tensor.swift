/// An n-dimensional array: a dtype, a shape, element strides and an offset into shared storage.
///
/// Views (``permuted(_:)``, ``narrowed(dim:start:length:)``, ``expanded(to:)``, ``reshaped(_:)`` of a
/// contiguous tensor) share storage and copy nothing; writes go through mutating methods that copy
/// first when the storage is shared or read-only (copy-on-write). Images are `[batch, height, width,
/// channels]` float32 in `[0, 1]` and masks `[batch, height, width]`, as in ComfyUI.
public struct Tensor: Sendable {
    public internal(set) var storage: TensorStorage
    public let dtype: DType
    public internal(set) var shape: [Int]
    /// Strides in elements (0 for broadcast dimensions).
    public internal(set) var strides: [Int]
    /// Offset of the first element, in elements.
    public internal(set) var offset: Int

    /// A view over `storage`. The view must lie within the storage.
    public init(storage: TensorStorage, dtype: DType, shape: [Int], strides: [Int]? = nil, offset: Int = 0) {
        let strides = strides ?? Tensor.contiguousStrides(shape)
        precondition(shape.count == strides.count, "shape \(shape) and strides \(strides) differ in rank")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        if shape.allSatisfy({ $0 > 0 }) {
            var last = offset
            var first = offset
            for (d, s) in zip(shape, strides) {
                if s >= 0 { last += (d - 1) * s } else { first += (d - 1) * s }
            }
            precondition(first >= 0 && (last + 1) * dtype.byteSize <= storage.byteCount,
                         "view \(shape)/\(strides)+\(offset) outside storage of \(storage.byteCount) bytes")
        }
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A zero-filled contiguous tensor.
    public init(zeros shape: [Int], dtype: DType = .float32) {
        let count = Tensor.elementCount(shape)
        self.init(storage: TensorStorage(byteCount: count * dtype.byteSize), dtype: dtype, shape: shape)
    }

    /// A contiguous tensor with unspecified contents, for a kernel's output that writes every element.
    public init(uninitialized shape: [Int], dtype: DType = .float32) {
        let count = Tensor.elementCount(shape)
        self.init(storage: TensorStorage(uninitializedByteCount: count * dtype.byteSize), dtype: dtype, shape: shape)
    }

    /// A contiguous float32 tensor; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(Tensor.elementCount(shape) == scalars.count, "shape \(shape) does not match \(scalars.count) scalars")
        self.init(zeros: shape)
        scalars.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// A contiguous int64 tensor (token ids, indices).
    public init(shape: [Int], int64s: [Int64]) {
        precondition(Tensor.elementCount(shape) == int64s.count, "shape \(shape) does not match \(int64s.count) values")
        self.init(zeros: shape, dtype: .int64)
        int64s.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// A float32 tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: Tensor.elementCount(shape)))
    }

    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= max(shape[i], 1)
        }
        return strides
    }

    public var rank: Int { shape.count }
    public var count: Int { Tensor.elementCount(shape) }

    /// Whether elements are laid out densely in row-major order (size-1 dimensions may have any stride).
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Pointer to the first element (valid while this tensor is alive).
    public var baseAddress: UnsafeMutableRawPointer { storage.pointer + offset * dtype.byteSize }
}

extension Tensor: Equatable {
    /// Equal shapes and equal values (as float32; int64 tensors compare their integers).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        if lhs.dtype == .int64 || rhs.dtype == .int64 { return lhs.int64Values == rhs.int64Values }
        return lhs.scalars == rhs.scalars
    }
}
