/// The specification of every ``Backend`` op: plain loops over float32 values, accumulating in `Double`.
///
/// Inputs of any dtype and any view (permuted, narrowed, expanded) are first read as dense row-major float32
/// (``Tensor/scalars``); every result is a new contiguous float32 tensor. Semantics follow PyTorch's CPU operators
/// (named on each method); where PyTorch computes an index in single precision (interpolation), so does this.
/// It favours clarity over speed: fast backends are checked against it by the op harness, and it is the fallback for
/// ops that have no fast kernel.
///
/// The op families live in `ReferenceBackend+<Family>.swift`.
public struct ReferenceBackend: Backend {
    public init() {}

    /// A dense float32 copy (`x.contiguous(as: .float32)`; `x` itself when already dense float32).
    public func contiguous(_ x: Tensor) -> Tensor {
        x.contiguous(as: .float32)
    }
}

extension ReferenceBackend {
    /// For every element of `outShape` in row-major order, the row-major offset of the element of a dense tensor of
    /// `inShape` that NumPy broadcasting maps onto it (shapes align on the right; size-1 dimensions repeat).
    static func broadcastOffsets(from inShape: [Int], to outShape: [Int]) -> [Int] {
        precondition(inShape.count <= outShape.count, "cannot broadcast \(inShape) to \(outShape)")
        let rank = outShape.count
        let padded = [Int](repeating: 1, count: rank - inShape.count) + inShape
        for d in 0..<rank {
            precondition(padded[d] == 1 || padded[d] == outShape[d], "cannot broadcast \(inShape) to \(outShape)")
        }
        let inStrides = Tensor.contiguousStrides(padded)
        let count = Tensor.elementCount(outShape)
        var result = [Int]()
        result.reserveCapacity(count)
        var index = [Int](repeating: 0, count: rank)
        for _ in 0..<count {
            var offset = 0
            for d in 0..<rank where padded[d] != 1 { offset += index[d] * inStrides[d] }
            result.append(offset)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return result
    }

    /// `values` per spatial dimension: one value is repeated, otherwise there must be exactly `count`.
    static func perDimension(_ values: [Int], _ count: Int, _ what: String) -> [Int] {
        if values.count == 1 { return [Int](repeating: values[0], count: count) }
        precondition(values.count == count, "\(what) \(values) does not match \(count) spatial dimensions")
        return values
    }
}
