import Testing
import TensorCore

/// ``ReferenceBackend`` against hand-computed values and PyTorch's documented outputs.
@Suite("ReferenceBackend: hand-computed values")
struct ReferenceBackendTests {
    let backend = ReferenceBackend()

    /// Elementwise `|actual - expected| ≤ relative · |expected| + 1e-12`.
    func expectClose(_ actual: Tensor, _ expected: [Float], relative: Float = 1e-6,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let values = actual.scalars
        #expect(values.count == expected.count, sourceLocation: sourceLocation)
        for (a, e) in zip(values, expected) {
            #expect(abs(a - e) <= relative * abs(e) + 1e-12, "\(values) vs \(expected)", sourceLocation: sourceLocation)
        }
    }

    @Test func softmax() {
        let y = backend.softmax(Tensor(shape: [1, 3], scalars: [1, 2, 3]))
        expectClose(y, [0.09003057317038046, 0.24472847105479767, 0.6652409557748219])
        // Large logits are stable; an all -inf row is NaN (as in PyTorch).
        expectClose(backend.softmax(Tensor(shape: [2], scalars: [1000, 1000])), [0.5, 0.5])
        #expect(backend.softmax(Tensor(shape: [2], scalars: [-.infinity, -.infinity])).scalars.allSatisfy { $0.isNaN })
    }

    @Test func layerNorm() {
        let x = Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])
        expectClose(backend.layerNorm(x, weight: nil, bias: nil, epsilon: 1e-5),
                    [-1.3416354199689269, -0.447211806656309, 0.447211806656309, 1.3416354199689269])
        let affine = backend.layerNorm(x, weight: Tensor(shape: [4], scalars: [1, 2, 1, 1]),
                                       bias: Tensor(shape: [4], scalars: [0, 0, 1, 0]), epsilon: 1e-5)
        expectClose(affine, [-1.3416354199689269, -0.894423613312618, 1.447211806656309, 1.3416354199689269])
    }

    @Test func groupNorm() {
        // One group over channels [1, 3] and [2, 6]: mean 3, biased variance 3.5.
        let x = Tensor(shape: [1, 2, 2], scalars: [1, 3, 2, 6])
        expectClose(backend.groupNorm(x, groups: 1, weight: nil, bias: nil, epsilon: 1e-5),
                    [-1.0690434404458735, 0.0, -0.5345217202229368, 1.6035651606688102])
        // Two groups: each channel alone; then a per-channel affine.
        let y = backend.groupNorm(x, groups: 2, weight: Tensor(shape: [2], scalars: [1, 2]),
                                  bias: Tensor(shape: [2], scalars: [0, 1]), epsilon: 0)
        expectClose(y, [-1, 1, -1, 3])
    }

    @Test func convolution3x3() {
        let x = Tensor(shape: [1, 1, 4, 4], scalars: (1...16).map(Float.init))
        let ones = Tensor(repeating: 1, shape: [1, 1, 3, 3])
        let valid = backend.convolution(x, weight: ones, bias: nil, stride: [1, 1], padding: [0, 0], dilation: [1, 1],
                                        groups: 1)
        #expect(valid.shape == [1, 1, 2, 2])
        expectClose(valid, [54, 63, 90, 99])
        let strided = backend.convolution(x, weight: ones, bias: Tensor(shape: [1], scalars: [0.5]), stride: [2],
                                          padding: [1], dilation: [1], groups: 1)
        expectClose(strided, [14.5, 30.5, 57.5, 99.5])
        // Dilation 2 with padding 2 keeps the size; the centre tap sees the corners of a 5×5 window.
        let dilated = backend.convolution(x, weight: ones, bias: nil, stride: [1], padding: [2], dilation: [2], groups: 1)
        #expect(dilated.shape == [1, 1, 4, 4])
        expectClose(dilated.narrowed(dim: 2, start: 0, length: 1).narrowed(dim: 3, start: 0, length: 1), [1 + 3 + 9 + 11])
        // Groups: each of two channels convolved with its own 1-tap kernel.
        let twoChannels = Tensor(shape: [1, 2, 1, 2], scalars: [1, 2, 3, 4])
        let grouped = backend.convolution(twoChannels, weight: Tensor(shape: [2, 1, 1, 1], scalars: [10, -1]), bias: nil,
                                          stride: [1], padding: [0], dilation: [1], groups: 2)
        expectClose(grouped, [10, 20, -3, -4])
        // 1-d: [1, 2, 3, 4] with kernel [1, 0, -1].
        let line = backend.convolution(Tensor(shape: [1, 1, 4], scalars: [1, 2, 3, 4]),
                                       weight: Tensor(shape: [1, 1, 3], scalars: [1, 0, -1]), bias: nil, stride: [1],
                                       padding: [1], dilation: [1], groups: 1)
        expectClose(line, [-2, -2, -2, 3])
    }

    @Test func bilinearUpsamplingMatchesPyTorch() {
        // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode="bilinear")
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        let y = backend.interpolate(x, size: (height: 4, width: 4), mode: .bilinear)
        #expect(y.shape == [1, 1, 4, 4])
        expectClose(y, [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4])
    }

    @Test func nearestModesMatchPyTorch() {
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        // mode="nearest", size=(3, 3): source floor(dst · 2/3) = 0, 0, 1.
        #expect(backend.interpolate(x, size: (3, 3), mode: .nearest).scalars == [1, 1, 2, 1, 1, 2, 3, 3, 4])
        // mode="nearest-exact": floor((dst + 0.5) · 2/3) = 0, 1, 1.
        #expect(backend.interpolate(x, size: (3, 3), mode: .nearestExact).scalars == [1, 2, 2, 3, 4, 4, 3, 4, 4])
        #expect(backend.interpolate(x, size: (4, 4), mode: .nearest).scalars
                == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    }

    @Test func activations() {
        let points: [Float] = [-6, -3, -1, -0.5, 0.25, 1, 2.5, 4.5, 8]
        expectClose(backend.unary(.gelu, Tensor(shape: [9], scalars: points)),
                    [-5.9195258e-09, -0.004049694, -0.15865526, -0.15426877, 0.14967658, 0.8413448, 2.4844759,
                     4.4999847, 8.0])
        let x = Tensor(shape: [3], scalars: [-3, 1, 2.5])
        expectClose(backend.unary(.geluTanh, x), [-0.003637392, 0.841192, 2.4849157])
        expectClose(backend.unary(.silu, x), [-0.14227761, 0.7310586, 2.3103545])
        expectClose(backend.unary(.quickGelu, x), [-0.01807131, 0.84579575, 2.4650137])
        expectClose(backend.unary(.tanh, Tensor(shape: [4], scalars: [-3, 0.001, 1, 2.5])),
                    [-0.9950548, 0.0009999997, 0.7615942, 0.9866143])
        expectClose(backend.unary(.exp, Tensor(shape: [4], scalars: [-20, -1, 0.5, 10])),
                    [2.0611537e-09, 0.36787945, 1.6487212, 22026.465])
        expectClose(backend.unary(.sqrt, Tensor(shape: [2], scalars: [4, 2])), [2, 1.4142135])
        #expect(backend.unary(.negate, x).scalars == [3, -1, -2.5])
    }

    @Test func attention() {
        let q = Tensor(shape: [1, 1, 1, 2], scalars: [1, 0])
        let k = Tensor(shape: [1, 1, 2, 2], scalars: [1, 0, 0, 1])
        let v = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        expectClose(backend.attention(query: q, key: k, value: v, mask: nil, scale: 1), [1.5378828427399902, 2.5378828427399904])
        let mask = Tensor(shape: [1, 2], scalars: [0, -.infinity])
        expectClose(backend.attention(query: q, key: k, value: v, mask: mask, scale: 1), [1, 2])
    }

    @Test func matmulLinearAndBroadcasting() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), b = Tensor(shape: [2, 2], scalars: [5, 6, 7, 8])
        #expect(backend.matmul(a, b).scalars == [19, 22, 43, 50])
        #expect(backend.matmul(a, b.permuted([1, 0])).scalars == [17, 23, 39, 53])
        #expect(backend.matmul(Tensor(shape: [2], scalars: [1, 1]), b).shape == [2])
        let linear = backend.linear(Tensor(shape: [1, 2], scalars: [1, 2]), weight: a, bias: Tensor(shape: [2], scalars: [1, -1]))
        #expect(linear.scalars == [6, 10])
        let sum = backend.binary(.add, Tensor(shape: [2, 1], scalars: [10, 20]), Tensor(shape: [3], scalars: [1, 2, 3]))
        #expect(sum.shape == [2, 3] && sum.scalars == [11, 12, 13, 21, 22, 23])
        #expect(backend.binary(.maximum, a, Tensor(shape: [1], scalars: [2.5])).scalars == [2.5, 2.5, 3, 4])
        #expect(backend.affine(a, scale: 2, shift: -1).scalars == [1, 3, 5, 7])
    }

    @Test func reductionsAndEmbedding() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(backend.reduce(.sum, x, dims: [0], keepDims: false).scalars == [5, 7, 9])
        let mean = backend.reduce(.mean, x, dims: [1], keepDims: true)
        #expect(mean.shape == [2, 1] && mean.scalars == [2, 5])
        let max = backend.reduce(.max, x, dims: [], keepDims: false)
        #expect(max.shape == [] && max.scalars == [6])
        #expect(backend.reduce(.min, x, dims: [-1], keepDims: false).scalars == [1, 4])
        let table = Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, 4, 5])
        let rows = backend.embedding(Tensor(shape: [2], int64s: [2, 0]), table: table)
        #expect(rows.shape == [2, 2] && rows.scalars == [4, 5, 0, 1])
    }
}
