/// A binary elementwise operation.
public enum BinaryOp: String, Sendable, CaseIterable {
    case add, sub, mul, div

    @inline(__always) func apply(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: a + b
        case .sub: a - b
        case .mul: a * b
        case .div: a / b
        }
    }

    @inline(__always) func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        switch self {
        case .add: a + b
        case .sub: a - b
        case .mul: a * b
        case .div: a / b
        }
    }
}

/// Shapes and strides of one broadcast binary operation, with mergeable dimensions collapsed.
struct BroadcastPlan {
    var shape: [Int]
    var aStrides: [Int]
    var bStrides: [Int]
    var outStrides: [Int]

    /// NumPy broadcasting: shapes align on the right and a size-1 (or missing) dimension stretches.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let a = [Int](repeating: 1, count: rank - a.count) + a, b = [Int](repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(a, b) {
            guard x == y || x == 1 || y == 1 else { return nil }
            out.append(x == 1 ? y : x)
        }
        return out
    }

    init(shape: [Int], aShape: [Int], aStrides: [Int], bShape: [Int], bStrides: [Int]) {
        let rank = shape.count
        func expand(_ s: [Int], _ st: [Int]) -> [Int] {
            let s = [Int](repeating: 1, count: rank - s.count) + s, st = [Int](repeating: 0, count: rank - st.count) + st
            return zip(s, st).map { $0 == 1 ? 0 : $1 }
        }
        var dims = shape, sa = expand(aShape, aStrides), sb = expand(bShape, bStrides), so = denseStrides(shape)
        // Drop unit dimensions, then merge neighbours that are contiguous with each other in all three operands.
        var keep = dims.indices.filter { dims[$0] != 1 }
        if keep.isEmpty { keep = [rank - 1].filter { $0 >= 0 } }
        dims = keep.map { dims[$0] }; sa = keep.map { sa[$0] }; sb = keep.map { sb[$0] }; so = keep.map { so[$0] }
        var i = dims.count - 2
        while i >= 0 {
            let n = dims[i + 1]
            if sa[i] == sa[i + 1] * n, sb[i] == sb[i + 1] * n, so[i] == so[i + 1] * n {
                dims[i] *= n
                sa[i] = sa[i + 1]; sb[i] = sb[i + 1]; so[i] = so[i + 1]
                dims.remove(at: i + 1); sa.remove(at: i + 1); sb.remove(at: i + 1); so.remove(at: i + 1)
            }
            i -= 1
        }
        if dims.isEmpty { dims = [1]; sa = [0]; sb = [0]; so = [1] }
        self.shape = dims
        self.aStrides = sa
        self.bStrides = sb
        self.outStrides = so
    }
}

extension CPUEngine {
    /// `out = a ⊕ b` with NumPy broadcasting in both directions; operands may be strided views.
    ///
    /// Dimensions that are contiguous in all operands are merged, so same-shape and trailing-dimension broadcasts
    /// (bias over `[N, C, H·W]`, a `[dim]` vector over rows) run as SIMD loops. Parallelised over the outer rows.
    ///
    /// - Parameters:
    ///   - aShape, bShape: operand shapes; `out` has their broadcast shape, contiguous.
    ///   - aStrides, bStrides: element strides of the operands; `nil` means contiguous.
    /// - Returns: the broadcast output shape.
    @discardableResult
    public func binary(
        _ op: BinaryOp, a: UnsafePointer<Float>, aShape: [Int], aStrides: [Int]? = nil,
        b: UnsafePointer<Float>, bShape: [Int], bStrides: [Int]? = nil, out: UnsafeMutablePointer<Float>
    ) -> [Int] {
        guard let shape = BroadcastPlan.broadcastShape(aShape, bShape) else {
            preconditionFailure("binary \(op): shapes \(aShape) and \(bShape) do not broadcast")
        }
        let total = shape.reduce(1, *)
        guard total > 0 else { return shape }
        let plan = BroadcastPlan(shape: shape, aShape: aShape, aStrides: aStrides ?? denseStrides(aShape),
                                 bShape: bShape, bStrides: bStrides ?? denseStrides(bShape))
        let inner = plan.shape.last!, sa = plan.aStrides.last!, sb = plan.bStrides.last!
        let outer = total / inner
        parallelFor(outer, grain: max(1, 16384 / inner)) { range in
            for row in range {
                // Offsets of this row from its multi-index over the outer dimensions.
                var rest = row, offA = 0, offB = 0
                for d in stride(from: plan.shape.count - 2, through: 0, by: -1) {
                    let index = rest % plan.shape[d]
                    rest /= plan.shape[d]
                    offA += index * plan.aStrides[d]
                    offB += index * plan.bStrides[d]
                }
                Self.binaryRow(op, a + offA, sa, b + offB, sb, out + row * inner, inner)
            }
        }
        return shape
    }

    /// One contiguous output row of ``binary(_:a:aShape:aStrides:b:bShape:bStrides:out:)``.
    @inline(__always)
    static func binaryRow(
        _ op: BinaryOp, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
        _ out: UnsafeMutablePointer<Float>, _ count: Int
    ) {
        var i = 0
        switch (sa, sb) {
        case (1, 1):
            while i + 8 <= count { VectorLoops.store(op.apply(VectorLoops.load(a + i), VectorLoops.load(b + i)), out + i); i += 8 }
            while i < count { out[i] = op.apply(a[i], b[i]); i += 1 }
        case (1, 0):
            let s = SIMD8<Float>(repeating: b[0])
            while i + 8 <= count { VectorLoops.store(op.apply(VectorLoops.load(a + i), s), out + i); i += 8 }
            while i < count { out[i] = op.apply(a[i], b[0]); i += 1 }
        case (0, 1):
            let s = SIMD8<Float>(repeating: a[0])
            while i + 8 <= count { VectorLoops.store(op.apply(s, VectorLoops.load(b + i)), out + i); i += 8 }
            while i < count { out[i] = op.apply(a[0], b[i]); i += 1 }
        default:
            while i < count { out[i] = op.apply(a[i * sa], b[i * sb]); i += 1 }
        }
    }
}

extension KernelReference {
    /// Naive broadcast binary operation: every output element from its multi-index.
    public static func binary(
        _ op: BinaryOp, a: UnsafePointer<Float>, aShape: [Int], aStrides: [Int]? = nil,
        b: UnsafePointer<Float>, bShape: [Int], bStrides: [Int]? = nil, out: UnsafeMutablePointer<Float>
    ) {
        let shape = BroadcastPlan.broadcastShape(aShape, bShape)!
        let rank = shape.count
        let aSt = aStrides ?? denseStrides(aShape), bSt = bStrides ?? denseStrides(bShape)
        for flat in 0..<shape.reduce(1, *) {
            var rest = flat, offA = 0, offB = 0
            for d in (0..<rank).reversed() {
                let index = rest % shape[d]
                rest /= shape[d]
                let da = d - (rank - aShape.count), db = d - (rank - bShape.count)
                if da >= 0, aShape[da] != 1 { offA += index * aSt[da] }
                if db >= 0, bShape[db] != 1 { offB += index * bSt[db] }
            }
            out[flat] = op.apply(a[offA], b[offB])
        }
    }
}
