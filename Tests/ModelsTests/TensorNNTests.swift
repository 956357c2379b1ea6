import Testing
import TensorCore
import TensorNN

@Suite("TensorNN modules")
struct TensorNNTests {
    @Test("Linear computes x·Wᵀ + b, weights used as loaded (f16)")
    func linearByHand() throws {
        let backend = try testBackend()
        let weight = Tensor(shape: [2, 3], scalars: [1, 2, 3, -1, 0, 0.5]).converted(to: .float16)
        let linear = Linear(weight: weight, bias: Tensor(shape: [2], scalars: [0.5, -1]))
        let y = linear(Tensor(shape: [1, 2, 3], scalars: [1, 1, 1, 2, 0, -2]), backend: backend)
        #expect(y.shape == [1, 2, 2])
        #expect(y.scalars == [6.5, -1.5, -3.5, -4])
        #expect(linear.parameters.keys.sorted() == ["bias", "weight"])
    }

    @Test("LayerNorm normalises the last dimension with affine")
    func layerNormByHand() throws {
        let backend = try testBackend()
        let norm = LayerNorm(weight: Tensor(shape: [4], scalars: [1, 2, 1, 1]), bias: Tensor(shape: [4], scalars: [0, 0, 1, 0]),
                             epsilon: 0)
        // mean 2.5, variance 1.25 → (x − 2.5)/√1.25
        let y = norm(Tensor(shape: [1, 4], scalars: [1, 2, 3, 4]), backend: backend).scalars
        let s = 1 / Float(1.25).squareRoot()
        let expected: [Float] = [-1.5 * s, 2 * -0.5 * s, 0.5 * s + 1, 1.5 * s]
        for (a, b) in zip(y, expected) { #expect(abs(a - b) < 1e-5) }
    }

    @Test("Loading reports missing, misshapen and unexpected keys, and ignores only what a rule names")
    func loadReport() throws {
        let source: [String: Tensor] = [
            "model.proj.weight": Tensor(zeros: [2, 3]),
            "model.norm.weight": Tensor(zeros: [5]),        // wrong shape
            "model.extra.weight": Tensor(zeros: [1]),       // unexpected
            "model.position_ids": Tensor(zeros: [1]),       // ignored by rule
            "other.weight": Tensor(zeros: [1]),             // outside the prefix: not this module's
        ]
        let loader = ParameterLoader(source: source, prefix: "model.", ignoring: { $0.hasSuffix("position_ids") })
        let scope = loader.root
        let linear = Linear(scope("proj"), inFeatures: 3, outFeatures: 2)   // bias missing
        _ = LayerNorm(scope("norm"), dimension: 4)                          // weight misshapen, bias missing
        #expect(linear.weight.shape == [2, 3])
        #expect(linear.bias?.shape == [2])                                  // a placeholder while loading
        let error = #expect(throws: ParameterLoadError.self) { try loader.finish(module: "test") }
        let report = try #require(error?.report)
        #expect(report.missing == ["model.norm.bias", "model.proj.bias"])
        #expect(report.shapeMismatches == [.init(key: "model.norm.weight", expected: [4], found: [5])])
        #expect(report.unexpected == ["model.extra.weight"])
        #expect(report.ignored == ["model.position_ids"])
        #expect(report.loaded == 1)
        #expect(error?.description.contains("2 missing") == true)
    }

    @Test("A clean load reports every key read")
    func cleanLoad() throws {
        let source: [String: Tensor] = ["w.weight": Tensor(zeros: [4, 2]), "w.bias": Tensor(zeros: [4])]
        let loader = ParameterLoader(source: source)
        let linear = Linear(loader.root("w"), inFeatures: 2, outFeatures: 4)
        let report = try loader.finish(module: "test")
        #expect(report.isClean && report.loaded == 2)
        #expect(Set(linear.parameters.keys) == ["weight", "bias"])
    }

    @Test("Multi-head attention with a causal mask: the first position attends only to itself")
    func causalAttention() throws {
        let backend = try testBackend()
        let identity = Tensor(shape: [4, 4], scalars: (0..<16).map { $0 % 5 == 0 ? 1 : 0 })
        let attention = MultiHeadAttention(heads: 2, query: Linear(weight: identity, bias: nil),
                                           key: Linear(weight: identity, bias: nil), value: Linear(weight: identity, bias: nil),
                                           output: Linear(weight: identity, bias: nil))
        let x = Tensor(shape: [1, 3, 4], scalars: (0..<12).map { Float($0) * 0.1 })
        let y = attention(x, mask: MultiHeadAttention.causalMask(length: 3), backend: backend)
        #expect(y.shape == [1, 3, 4])
        #expect(Array(y.scalars[0..<4]) == Array(x.scalars[0..<4]))
        #expect(Set(attention.parameters.keys) == ["q_proj.weight", "k_proj.weight", "v_proj.weight", "out_proj.weight"])
    }

    @Test("Conv2d with stride, padding and groups (depthwise 3×3 of ones sums each neighbourhood)")
    func depthwiseConvolution() throws {
        let backend = try testBackend()
        let x = Tensor(shape: [1, 2, 3, 3], scalars: (0..<18).map(Float.init))
        let conv = Conv2d(weight: Tensor(repeating: 1, shape: [2, 1, 3, 3]), bias: Tensor(shape: [2], scalars: [0, 100]),
                          stride: 2, padding: 1, groups: 2)
        let y = conv(x, backend: backend)
        #expect(y.shape == [1, 2, 2, 2])
        var expected: [Float] = []
        for c in 0..<2 {
            for oy in 0..<2 {
                for ox in 0..<2 {
                    var sum: Float = c == 0 ? 0 : 100
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let (iy, ix) = (oy * 2 + dy, ox * 2 + dx)
                            if (0..<3).contains(iy) && (0..<3).contains(ix) { sum += Float(c * 9 + iy * 3 + ix) }
                        }
                    }
                    expected.append(sum)
                }
            }
        }
        #expect(y.scalars == expected)
    }

    @Test("GroupNorm normalises each channel group")
    func groupNormByHand() throws {
        let backend = try testBackend()
        let norm = GroupNorm(groups: 2, weight: nil, bias: nil, epsilon: 0)
        let y = norm(Tensor(shape: [1, 4, 1, 2], scalars: [1, 2, 3, 4, 10, 10, 20, 20]), backend: backend).scalars
        let s = 1 / Float(1.25).squareRoot()
        let expected: [Float] = [-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, -1, -1, 1, 1]
        for (a, b) in zip(y, expected) { #expect(abs(a - b) < 1e-5) }
    }

    @Test("Cross-attention loads LDM key names (to_q … to_out.0) and attends over a context of another width")
    func crossAttention() throws {
        let backend = try testBackend()
        let source: [String: Tensor] = [
            "attn2.to_q.weight": Tensor(repeating: 0.1, shape: [8, 4]),
            "attn2.to_k.weight": Tensor(repeating: 0.1, shape: [8, 6]),
            "attn2.to_v.weight": Tensor(repeating: 0.1, shape: [8, 6]),
            "attn2.to_out.0.weight": Tensor(repeating: 0.1, shape: [4, 8]),
            "attn2.to_out.0.bias": Tensor(repeating: 1, shape: [4]),
        ]
        let loader = ParameterLoader(source: source)
        let attention = MultiHeadAttention(loader.root("attn2"), dimension: 4, heads: 2, contextDimension: 6,
                                           innerDimension: 8, projectionBias: false, keyNames: .ldm)
        #expect(try loader.finish(module: "cross-attention").loaded == 5)
        let context = Tensor(repeating: 1, shape: [1, 5, 6])
        let y = attention(Tensor(repeating: 1, shape: [1, 3, 4]), context: context, backend: backend)
        // every value row is 0.6 per channel, so the output is 8 · 0.1 · 0.6 + 1 everywhere
        #expect(y.shape == [1, 3, 4])
        for value in y.scalars { #expect(abs(value - 1.48) < 1e-5) }
    }
}
