/// An n-dimensional array of `Float` in row-major (C) order.
///
/// This is the first cut of the engine's tensor: contiguous `f32` storage with copy-on-write
/// semantics. Images are `[batch, height, width, channels]` with values in `[0, 1]`, masks
/// `[batch, height, width]`, exactly as ComfyUI lays them out.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    /// Creates a tensor; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) does not match \(scalars.count) scalars")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public var rank: Int { shape.count }
    public var count: Int { scalars.count }

    /// Row-major strides, in elements.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }

    /// The same scalars viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Elements `range` along the first dimension.
    public func slice(batch range: Range<Int>) -> Tensor {
        let inner = shape.dropFirst().reduce(1, *)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape, scalars: Array(scalars[(range.lowerBound * inner)..<(range.upperBound * inner)]))
    }

    /// Concatenates tensors along the first dimension; all other dimensions must agree.
    public static func concatenate(batches: [Tensor]) -> Tensor {
        precondition(!batches.isEmpty)
        let tail = Array(batches[0].shape.dropFirst())
        precondition(batches.allSatisfy { Array($0.shape.dropFirst()) == tail }, "mismatched shapes")
        var scalars: [Float] = []
        scalars.reserveCapacity(batches.reduce(0) { $0 + $1.count })
        for b in batches { scalars.append(contentsOf: b.scalars) }
        return Tensor(shape: [batches.reduce(0) { $0 + $1.shape[0] }] + tail, scalars: scalars)
    }
}
