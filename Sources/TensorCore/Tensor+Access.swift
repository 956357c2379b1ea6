extension Tensor {
    /// The elements as float32 in row-major order (converted from the tensor's dtype; a copy).
    public var scalars: [Float] {
        get {
            let source = dtype == .float32 && isContiguous ? self : contiguous(as: .float32)
            return [Float](UnsafeBufferPointer(start: source.baseAddress.assumingMemoryBound(to: Float.self), count: count))
        }
        set {
            precondition(newValue.count == count, "\(newValue.count) scalars for shape \(shape)")
            self = Tensor(shape: shape, scalars: newValue)
        }
    }

    /// The elements as Int64 in row-major order (floats are truncated).
    public var int64Values: [Int64] {
        if dtype == .int64 {
            let source = isContiguous ? self : contiguous()
            return [Int64](UnsafeBufferPointer(start: source.baseAddress.assumingMemoryBound(to: Int64.self), count: count))
        }
        return scalars.map(ElementConversion.toInt64)
    }

    /// Calls `body` with the elements as contiguous float32 (copying and converting only when needed).
    public func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let source = dtype == .float32 && isContiguous ? self : contiguous(as: .float32)
        return try body(UnsafeBufferPointer(start: source.baseAddress.assumingMemoryBound(to: Float.self), count: count))
    }

    /// Calls `body` with writable contiguous float32 elements, first making this tensor a float32,
    /// contiguous, uniquely owned, writable copy if it is not one already.
    public mutating func withMutableFloats<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if dtype != .float32 || !isContiguous || storage.isReadOnly || !isKnownUniquelyReferenced(&storage) {
            self = contiguous(as: .float32, forceCopy: true)
        }
        return try body(UnsafeMutableBufferPointer(start: baseAddress.assumingMemoryBound(to: Float.self), count: count))
    }

    /// A dense row-major copy, optionally converted to `dtype`. Returns `self` when already dense in
    /// that dtype and no copy is forced.
    public func contiguous(as target: DType? = nil, forceCopy: Bool = false) -> Tensor {
        let target = target ?? dtype
        if target == dtype && isContiguous && !forceCopy { return self }
        let out = Tensor(uninitialized: shape, dtype: target)
        let n = count
        guard n > 0 else { return out }
        let dst = out.baseAddress
        if isContiguous, target == .float32, dtype == .float16 || dtype == .bfloat16 {
            // The hot case (half-precision weights widened at use): one tight loop the compiler vectorises.
            ElementConversion.widen(baseAddress, dtype, into: dst.assumingMemoryBound(to: Float.self), count: n)
        } else if isContiguous, dtype == .float16, target == .bfloat16 {
            // Half-precision checkpoints loaded as a bfloat16 model: exact widening, then one rounding.
            let source = baseAddress.assumingMemoryBound(to: UInt16.self), out = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { out[i] = BFloat16Rounding.bits(ElementConversion.halfToFloat(source[i])) }
        } else if isContiguous, dtype == .float32, target == .bfloat16 {
            BFloat16Rounding.narrow(baseAddress.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: UInt16.self), n)
        } else if target == dtype {
            // The trailing dimensions that are contiguous in storage are copied as one run per outer index (a
            // head split or merge moves whole head-dim rows); element by element only when nothing is contiguous.
            let size = dtype.byteSize
            var run = 1, split = shape.count
            while split > 0, shape[split - 1] == 1 || strides[split - 1] == run {
                run *= shape[split - 1]
                split -= 1
            }
            if run > 1 {
                let outer = Tensor(storage: storage, dtype: dtype, shape: Array(shape[..<split]),
                                   strides: Array(strides[..<split]), offset: offset)
                let bytes = run * size
                var at = dst
                outer.forEachOffset { src in
                    at.copyMemory(from: storage.pointer + src * size, byteCount: bytes)
                    at += bytes
                }
            } else if size == 4 {
                let source = storage.pointer.assumingMemoryBound(to: UInt32.self)
                let out = dst.assumingMemoryBound(to: UInt32.self)
                var i = 0
                forEachOffset { src in
                    out[i] = source[src]
                    i += 1
                }
            } else {
                var i = 0
                forEachOffset { src in
                    (dst + i * size).copyMemory(from: storage.pointer + src * size, byteCount: size)
                    i += 1
                }
            }
        } else {
            var i = 0
            let src = storage.pointer
            forEachOffset { at in
                ElementConversion.store(ElementConversion.load(src, at, dtype), into: dst, i, target)
                i += 1
            }
        }
        return out
    }

    /// Whether the elements fill exactly `count` consecutive storage slots from ``offset`` in some dimension order
    /// (a permuted view of a dense tensor, such as a transposed weight), so the block can be converted as one run.
    public var isDensePermutation: Bool {
        var expected = 1
        for d in shape.indices.filter({ shape[$0] != 1 }).sorted(by: { strides[$0] < strides[$1] }) {
            guard strides[d] == expected else { return false }
            expected *= shape[d]
        }
        return true
    }

    /// This tensor in float32 with the same strides (the block widened in one pass) when it is a
    /// ``isDensePermutation`` view, else a dense float32 copy; `self` when already float32.
    public func float32KeepingLayout() -> Tensor {
        guard dtype != .float32 else { return self }
        guard dtype == .float16 || dtype == .bfloat16, !isContiguous, count > 0, isDensePermutation else {
            return contiguous(as: .float32)
        }
        let storage = TensorStorage(uninitializedByteCount: count * 4)
        ElementConversion.widen(baseAddress, dtype, into: storage.pointer.assumingMemoryBound(to: Float.self), count: count)
        return Tensor(storage: storage, dtype: .float32, shape: shape, strides: strides, offset: 0)
    }

    /// Converts to another dtype (a contiguous copy; `self` if the dtype is already `target`).
    public func converted(to target: DType) -> Tensor {
        target == dtype ? self : contiguous(as: target)
    }

    /// Visits every element's storage offset (in elements) in row-major order.
    @inlinable
    func forEachOffset(_ visit: (Int) -> Void) {
        let n = count
        guard n > 0 else { return }
        let rank = shape.count
        if rank == 0 {
            visit(offset)
            return
        }
        var index = [Int](repeating: 0, count: rank)
        var position = offset
        let innerSize = shape[rank - 1]
        let innerStride = strides[rank - 1]
        var done = 0
        while done < n {
            var p = position
            for _ in 0..<innerSize {
                visit(p)
                p += innerStride
            }
            done += innerSize
            // Advance the outer index.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                position += strides[d]
                if index[d] < shape[d] { break }
                position -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
    }
}

/// Scalar loads and stores across dtypes (round-to-nearest-even for narrowing float conversions).
enum ElementConversion {
    @inline(__always)
    static func load(_ base: UnsafeMutableRawPointer, _ index: Int, _ dtype: DType) -> Float {
        switch dtype {
        case .float32: return base.load(fromByteOffset: index * 4, as: Float.self)
        case .float16: return Float(base.load(fromByteOffset: index * 2, as: Float16.self))
        case .bfloat16: return Float(bitPattern: UInt32(base.load(fromByteOffset: index * 2, as: UInt16.self)) << 16)
        case .int64: return Float(base.load(fromByteOffset: index * 8, as: Int64.self))
        case .uint8: return Float(base.load(fromByteOffset: index, as: UInt8.self))
        }
    }

    @inline(__always)
    static func store(_ value: Float, into base: UnsafeMutableRawPointer, _ index: Int, _ dtype: DType) {
        switch dtype {
        case .float32: base.storeBytes(of: value, toByteOffset: index * 4, as: Float.self)
        case .float16: base.storeBytes(of: Float16(value), toByteOffset: index * 2, as: Float16.self)
        case .bfloat16: base.storeBytes(of: bfloat16Bits(value), toByteOffset: index * 2, as: UInt16.self)
        case .int64: base.storeBytes(of: toInt64(value), toByteOffset: index * 8, as: Int64.self)
        case .uint8: base.storeBytes(of: value.isNaN ? 0 : UInt8(max(0, min(255, value))), toByteOffset: index, as: UInt8.self)
        }
    }

    /// float → int64 truncating toward zero; NaN and out-of-range values give `Int64.min`, as PyTorch's
    /// CPU cast does, instead of trapping.
    @inline(__always)
    static func toInt64(_ value: Float) -> Int64 {
        guard value.isFinite, value >= -9.223372e18, value < 9.223372e18 else { return Int64.min }
        return Int64(value)
    }

    /// Widens `count` contiguous float16 or bfloat16 values to float32.
    static func widen(_ source: UnsafeMutableRawPointer, _ dtype: DType, into out: UnsafeMutablePointer<Float>, count: Int) {
        let bits = source.assumingMemoryBound(to: UInt16.self)
        if dtype == .bfloat16 {
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(bits[i]) << 16) }
            return
        }
        for i in 0..<count { out[i] = halfToFloat(bits[i]) }
    }

    /// IEEE half → float by bit manipulation (exact, including subnormals, infinities and NaN).
    @inline(__always)
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2^-24, exact in float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// float32 → bfloat16 bits, rounding to nearest even (NaN stays NaN).
    @inline(__always)
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        BFloat16Rounding.bits(value)
    }
}
