import Foundation
import Testing
import TensorCore
import TensorCPU

/// The bfloat16 compute path (a model whose weights are held in bfloat16): rounding, GEMM and convolution against
/// the float32 reference run on the same rounded values, and the backend ops that pick the path from the weights.
@Suite struct BFloat16KernelTests {
    /// float32 values rounded through TensorCore's scalar conversion (the reference), as float32.
    static func rounded(_ values: [Float]) -> [Float] {
        Tensor(shape: [values.count], scalars: values).converted(to: .bfloat16).converted(to: .float32).scalars
    }

    static func bits(_ values: [Float]) -> [UInt16] {
        let t = Tensor(shape: [values.count], scalars: values).converted(to: .bfloat16)
        let p = t.baseAddress.assumingMemoryBound(to: UInt16.self)
        return withExtendedLifetime(t) { (0..<values.count).map { p[$0] } }
    }

    static func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(1, b.map(abs).max() ?? 0)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    @Test func narrowingMatchesTheScalarConversionBitForBit() throws {
        let engine = try CPUEngine()
        var random = SeededRandom(seed: 11)
        var values = random.floats(1000, scale: 1e3)
        // Ties (round to even both ways), infinities, NaNs, subnormals, signed zero, the largest finite float.
        values += [1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), .infinity, -.infinity, .nan, -.nan,
                   Float(bitPattern: 0x7F80_0001), 0x1p-140, -0x1p-149, -0.0, .greatestFiniteMagnitude]
        var out = [UInt16](repeating: 0, count: values.count)
        out.withUnsafeMutableBytes { engine.narrowToBFloat16(values, $0.baseAddress!, count: values.count) }
        let expected = Self.bits(values)
        let mismatches = values.indices.filter { out[$0] != expected[$0] }
        #expect(mismatches.isEmpty, "first mismatch at \(mismatches.first.map { "\($0): \(values[$0])" } ?? "")")
        // NaN inputs stay NaN.
        #expect(Float(bitPattern: UInt32(out[values.count - 7]) << 16).isNaN)
    }

    @Test(arguments: [(3, 7, 17, false, 1), (33, 65, 40, true, 1), (5, 9, 13, true, 3), (64, 48, 320, false, 2)])
    func gemmMatchesTheReferenceOnRoundedInputs(_ m: Int, _ n: Int, _ k: Int, _ transB: Bool, _ batch: Int) throws {
        let engine = try CPUEngine()
        var random = SeededRandom(seed: UInt64(m * 1000 + n))
        let a = random.floats(m * k * batch), b = random.floats(k * n * batch), c0 = random.floats(m * n * batch)
        let beta: Float = batch == 1 ? 0.5 : 0
        let ldb = transB ? k : n
        let a16 = Self.bits(a), b16 = Self.bits(b)
        var fast = c0, reference = c0
        try a16.withUnsafeBytes { pa in
            try b16.withUnsafeBytes { pb in
                try engine.gemmBFloat16(transB: transB, m: m, n: n, k: k, alpha: 0.75, a: pa.baseAddress!, lda: k,
                                        b: pb.baseAddress!, ldb: ldb, beta: beta, c: &fast, ldc: n, batch: batch,
                                        strideA: m * k, strideB: k * n, strideC: m * n)
            }
        }
        KernelReference.sgemm(transA: false, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: Self.rounded(a), lda: k,
                              b: Self.rounded(b), ldb: ldb, beta: beta, c: &reference, ldc: n, batch: batch,
                              strideA: m * k, strideB: k * n, strideC: m * n)
        #expect(Self.maxRelativeError(fast, reference) < 1e-5)
    }

    @Test func convolutionMatchesTheReferenceOnRoundedInputs() throws {
        let engine = try CPUEngine()
        var random = SeededRandom(seed: 5)
        for p in [ConvolutionParameters(batch: 2, inChannels: 5, outChannels: 7, inputSize: [9, 11], kernelSize: [3, 3],
                                        padding: [1, 1]),
                  ConvolutionParameters(batch: 1, inChannels: 32, outChannels: 16, inputSize: [8, 8], kernelSize: [3, 3],
                                        stride: [2, 2], padding: [1, 1])] {
            let x = random.floats(p.inputShape.reduce(1, *)), w = random.floats(p.weightShape.reduce(1, *))
            let bias = random.floats(p.outChannels)
            var fast = [Float](repeating: .nan, count: p.outputShape.reduce(1, *)), reference = fast
            let x16 = Self.bits(x), w16 = Self.bits(w)
            try x16.withUnsafeBytes { px in
                try w16.withUnsafeBytes { pw in
                    try engine.convolutionBFloat16(p, input: px.baseAddress!, weight: pw.baseAddress!, bias: bias,
                                                   output: &fast)
                }
            }
            KernelReference.convolution(p, input: Self.rounded(x), weight: Self.rounded(w), bias: bias, output: &reference)
            #expect(Self.maxRelativeError(fast, reference) < 1e-5, "\(p)")
        }
    }

    /// `CPUBackend.linear` and `convolution` with bfloat16 weights round the input to bfloat16 and accumulate in float32.
    @Test func backendOpsWithBFloat16WeightsComputeOnRoundedInputs() throws {
        let backend = try CPUBackend()
        var random = SeededRandom(seed: 9)
        let x = Tensor(shape: [2, 3, 40], scalars: random.floats(240))
        let w = Tensor(shape: [24, 40], scalars: random.floats(960)), b = Tensor(shape: [24], scalars: random.floats(24))
        let fast = backend.linear(x, weight: w.converted(to: .bfloat16), bias: b)
        let reference = ReferenceBackend().linear(x.converted(to: .bfloat16).converted(to: .float32),
                                                  weight: w.converted(to: .bfloat16).converted(to: .float32), bias: b)
        #expect(fast.shape == [2, 3, 24] && fast.dtype == .float32)
        #expect(Self.maxRelativeError(fast.scalars, reference.scalars) < 1e-5)

        let image = Tensor(shape: [1, 6, 10, 10], scalars: random.floats(600))
        let kernel = Tensor(shape: [8, 6, 3, 3], scalars: random.floats(432))
        let convFast = backend.convolution(image, weight: kernel.converted(to: .bfloat16), bias: nil, stride: [1],
                                           padding: [1], dilation: [1], groups: 1)
        let convReference = ReferenceBackend().convolution(
            image.converted(to: .bfloat16).converted(to: .float32), weight: kernel.converted(to: .bfloat16).converted(to: .float32),
            bias: nil, stride: [1], padding: [1], dilation: [1], groups: 1)
        #expect(Self.maxRelativeError(convFast.scalars, convReference.scalars) < 1e-5)
    }
}

/// Channels-last convolutions (oneDNN's brgemm kernels): results against the reference, and the packed weights'
/// lifetime (kept per weight tensor, rebuilt for a new tensor, dropped with their owner).
@Suite struct ChannelsLastConvolutionTests {
    static let shapes = [
        ConvolutionParameters(batch: 2, inChannels: 16, outChannels: 24, inputSize: [9, 11], kernelSize: [3, 3], padding: [1, 1]),
        ConvolutionParameters(batch: 1, inChannels: 32, outChannels: 16, inputSize: [8, 8], kernelSize: [3, 3],
                              stride: [2, 2], padding: [1, 1]),
        ConvolutionParameters(batch: 1, inChannels: 8, outChannels: 40, inputSize: [5, 7], kernelSize: [1, 1]),
    ]

    @Test(arguments: [false, true])
    func matchesTheReference(_ bfloat16: Bool) throws {
        let engine = try CPUEngine()
        var random = SeededRandom(seed: bfloat16 ? 21 : 22)
        for p in Self.shapes {
            let x = random.floats(p.inputShape.reduce(1, *)), bias = random.floats(p.outChannels)
            let weight = Tensor(shape: p.weightShape, scalars: random.floats(p.weightShape.reduce(1, *)))
                .converted(to: bfloat16 ? .bfloat16 : .float32)
            var fast = [Float](repeating: .nan, count: p.outputShape.reduce(1, *)), reference = fast
            try withExtendedLifetime(weight) {
                try engine.convolutionChannelsLast(p, input: x, weight: weight.baseAddress, weightOwner: weight.storage,
                                                   bfloat16: bfloat16, bias: bias, output: &fast)
            }
            let input = bfloat16 ? BFloat16KernelTests.rounded(x) : x
            KernelReference.convolution(p, input: input, weight: weight.converted(to: .float32).scalars, bias: bias,
                                        output: &reference)
            #expect(BFloat16KernelTests.maxRelativeError(fast, reference) < 1e-5, "\(p)")
        }
    }

    /// After `channelsLast`, convolutions, group norms, activations, sums and nearest upsampling hand on channels-last
    /// maps (no transposes between them), with the values of the channels-first chain; `contiguous` reads them back.
    @Test func chainsKeepTheChannelsLastLayout() throws {
        let backend = try CPUBackend()
        var random = SeededRandom(seed: 31)
        let x = Tensor(shape: [1, 16, 6, 5], scalars: random.floats(480))
        let w = Tensor(shape: [16, 16, 3, 3], scalars: random.floats(16 * 16 * 9).map { $0 * 0.2 })
        let gamma = Tensor(shape: [16], scalars: random.floats(16))
        func chain(_ input: Tensor) -> [Tensor] {
            let norm = backend.groupNorm(input, groups: 4, weight: gamma, bias: nil, epsilon: 1e-6, activation: .silu)
            let conv = backend.convolution(norm, weight: w, bias: nil, stride: [1], padding: [1], dilation: [1], groups: 1)
            let sum = backend.add(conv, input)
            let up = backend.interpolate(backend.unary(.tanh, sum), size: (12, 10), mode: .nearest)
            return [norm, conv, sum, up]
        }
        let mapped = backend.channelsLast(x)
        #expect(mapped.strides == [480, 1, 80, 16] && mapped.scalars == x.scalars)
        for (kept, plain) in zip(chain(mapped), chain(x)) {
            let (c, h, w) = (kept.shape[1], kept.shape[2], kept.shape[3])
            #expect(kept.strides == [h * w * c, 1, w * c, c], "\(kept.shape) lost the layout: \(kept.strides)")
            #expect(plain.isContiguous)
            #expect(BFloat16KernelTests.maxRelativeError(backend.contiguous(kept).scalars, plain.scalars) < 1e-5)
            #expect(backend.contiguous(kept).isContiguous)
        }
    }

    @Test func packedWeightsLiveAsLongAsTheirTensor() throws {
        let engine = try CPUEngine()
        var random = SeededRandom(seed: 3)
        let p = Self.shapes[0]
        let x = random.floats(p.inputShape.reduce(1, *))
        func run(_ weight: Tensor) throws -> [Float] {
            var out = [Float](repeating: .nan, count: p.outputShape.reduce(1, *))
            try withExtendedLifetime(weight) {
                try engine.convolutionChannelsLast(p, input: x, weight: weight.baseAddress, weightOwner: weight.storage,
                                                   bfloat16: false, bias: nil, output: &out)
            }
            return out
        }
        func reference(_ weight: Tensor) -> [Float] {
            var out = [Float](repeating: .nan, count: p.outputShape.reduce(1, *))
            KernelReference.convolution(p, input: x, weight: weight.scalars, bias: nil, output: &out)
            return out
        }
        var first: Tensor? = Tensor(shape: p.weightShape, scalars: random.floats(p.weightShape.reduce(1, *)))
        _ = try run(first!)
        let packed = engine.packedWeightBytes
        #expect(packed >= p.weightShape.reduce(1, *) * 4)
        _ = try run(first!)
        #expect(engine.packedWeightBytes == packed, "a second call packed the same weights again")
        // A different tensor (possibly at the same address once the first is gone) gets its own packing and result.
        first = nil
        let second = Tensor(shape: p.weightShape, scalars: random.floats(p.weightShape.reduce(1, *)))
        let result = try run(second)
        #expect(BFloat16KernelTests.maxRelativeError(result, reference(second)) < 1e-5)
        #expect(engine.packedWeightBytes == packed, "the dead tensor's packed weights were not released")
    }
}

extension BFloat16KernelTests {
    /// The fused softmax-and-round of bfloat16 attention equals the float32 softmax rounded to bfloat16 (to one unit
    /// in the last place: oneDNN's exp is not bit-identical to the float32 kernel's).
    @Test func softmaxToBFloat16IsTheRoundedSoftmax() throws {
        let engine = try CPUEngine()
        var random = SeededRandom(seed: 17)
        let rows = 5, dim = 77
        let x = random.floats(rows * dim, scale: 8)
        var reference = [Float](repeating: 0, count: rows * dim)
        try engine.softmax(x: x, y: &reference, rows: rows, dim: dim)
        var out = [UInt16](repeating: 0, count: rows * dim)
        try out.withUnsafeMutableBytes { try engine.softmaxToBFloat16(x: x, y: $0.baseAddress!, rows: rows, dim: dim) }
        let expected = Self.bits(reference)
        let worst = zip(out, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst <= 1)
    }

    /// The fused GEGLU feed-forward runs on oneDNN (it throws rather than falling back) in float32 and bfloat16, over
    /// more rows than one block, and matches the layer written out: both halves of the projection, `value ·
    /// GELU(gate)` with libm's erf, (rounded to bfloat16 in the bfloat16 mode), the output projection.
    @Test(arguments: [false, true])
    func gegluFeedForwardMatchesTheLayerWrittenOut(_ bfloat16: Bool) throws {
        let engine = try CPUEngine()
        let rows = 1100, dim = 8, inner = 4096, outDim = 5
        var random = SeededRandom(seed: bfloat16 ? 3 : 4)
        var x = random.floats(rows * dim, scale: 2), w1 = random.floats(2 * inner * dim, scale: 0.5)
        var w2 = random.floats(outDim * inner, scale: 0.1)
        let b1 = random.floats(2 * inner), b2 = random.floats(outDim)
        if bfloat16 { (x, w1, w2) = (Self.rounded(x), Self.rounded(w1), Self.rounded(w2)) }
        var fast = [Float](repeating: .nan, count: rows * outDim)
        func stored(_ values: [Float]) -> [UInt8] {
            bfloat16 ? Self.bits(values).withUnsafeBytes { Array($0) } : values.withUnsafeBytes { Array($0) }
        }
        let (x8, w18, w28) = (stored(x), stored(w1), stored(w2))
        try x8.withUnsafeBytes { px in
            try w18.withUnsafeBytes { p1 in
                try w28.withUnsafeBytes { p2 in
                    try engine.gegluFeedForward(x: px.baseAddress!, rows: rows, dim: dim, inner: inner, outDim: outDim,
                                                projection: p1.baseAddress!, projectionBias: b1, output: p2.baseAddress!,
                                                outputBias: b2, y: &fast, bfloat16: bfloat16)
                }
            }
        }
        var projected = [Float](repeating: 0, count: rows * 2 * inner)
        KernelReference.linear(x: x, rows: rows, inFeatures: dim, weight: w1, bias: b1, outFeatures: 2 * inner,
                               y: &projected)
        var hidden = [Float](repeating: 0, count: rows * inner)
        for r in 0..<rows {
            for j in 0..<inner {
                let value = projected[r * 2 * inner + j], gate = projected[r * 2 * inner + inner + j]
                hidden[r * inner + j] = value * (gate * 0.5 * (1 + erf(gate / Float(2).squareRoot())))
            }
        }
        if bfloat16 { hidden = Self.rounded(hidden) }
        var reference = [Float](repeating: 0, count: rows * outDim)
        KernelReference.linear(x: hidden, rows: rows, inFeatures: inner, weight: w2, bias: b2, outFeatures: outDim,
                               y: &reference)
        #expect(Self.maxRelativeError(fast, reference) < (bfloat16 ? 1e-3 : 1e-5))
    }
}
