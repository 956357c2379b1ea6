extension TorchGenerator {
    /// The ≥ 16-element path of torch's `normal_` for contiguous float32 output.
    ///
    /// 1. One MT output per element becomes a float uniform `(r & 0xFFFFFF) · 2^-24`.
    /// 2. Each full block of 16 is transformed in place by Box–Muller, element j pairing with element j + 8.
    /// 3. If `count` is not a multiple of 16, 16 *more* uniforms are drawn, transformed, and written over the last
    ///    16 elements (so the tail overwrites part of the last full block).
    mutating func fillBlocks(_ output: UnsafeMutableBufferPointer<Float>) {
        let count = output.count
        precondition(count >= 16)
        fillUniforms(output)
        let kernel = self.kernel
        let raw = UnsafeMutableRawPointer(output.baseAddress!)
        for block in 0..<(count / 16) {
            Self.transformBlock(raw + block * 64, kernel: kernel)
        }
        if count % 16 != 0 {
            var tail = [Float](repeating: 0, count: 16)
            tail.withUnsafeMutableBufferPointer { tailBuffer in
                fillUniforms(tailBuffer)
                Self.transformBlock(UnsafeMutableRawPointer(tailBuffer.baseAddress!), kernel: kernel)
                (raw + (count - 16) * 4).copyMemory(from: tailBuffer.baseAddress!, byteCount: 64)
            }
        }
    }

    /// Writes the next `output.count` float32 uniforms.
    private mutating func fillUniforms(_ output: UnsafeMutableBufferPointer<Float>) {
        engine.fill(count: output.count) { offset, word in
            output[offset] = Float(word & 0xFF_FFFF) * 0x1p-24
        }
    }

    /// Box–Muller on the 16 floats at `block` (unaligned), in place.
    @inline(__always)
    private static func transformBlock(_ block: UnsafeMutableRawPointer, kernel: Kernel) {
        switch kernel {
        case .avx2:
            let lo = block.loadUnaligned(as: SIMD8<Float>.self)
            let hi = block.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let (outLo, outHi) = TorchAVX2Math.boxMuller(lo: lo, hi: hi)
            block.storeBytes(of: outLo, as: SIMD8<Float>.self)
            block.storeBytes(of: outHi, toByteOffset: 32, as: SIMD8<Float>.self)
        case .scalar:
            let values = block.assumingMemoryBound(to: Float.self)
            for j in 0..<8 {
                let u1 = 1 - values[j]
                let u2 = values[j + 8]
                let radius = (-2 * GlibcFloatMath.logf(u1)).squareRoot()
                let theta = Float(2.0 * Double.pi * Double(u2))
                values[j] = radius * GlibcFloatMath.cosf(theta) * 1 + 0
                values[j + 8] = radius * GlibcFloatMath.sinf(theta) * 1 + 0
            }
        }
    }
}
