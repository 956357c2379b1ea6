import TensorCPU

/// The parity table: every TensorCPU kernel on odd, non-square, strided and grouped configurations, each with the
/// tolerance it is held to (relative to the reference output's magnitude, floored at 1).
enum KernelTable {
    static let all: [KernelCase] =
        gemm + linear + convolution + normalization + softmax + activations + binary + attention + interpolation

    // MARK: GEMM

    struct GEMMShape: Sendable {
        var m: Int, n: Int, k: Int
        var transA = false, transB = false
        var alpha: Float = 1, beta: Float = 0
        var pad = 0, batch = 1, broadcastB = false
    }

    static let gemmShapes: [GEMMShape] = [
        GEMMShape(m: 1, n: 1, k: 1),
        GEMMShape(m: 3, n: 7, k: 17),
        GEMMShape(m: 33, n: 17, k: 9, transA: true),
        GEMMShape(m: 17, n: 33, k: 7, transB: true, alpha: 0.5, beta: 0.25),
        GEMMShape(m: 7, n: 3, k: 33, transA: true, transB: true, pad: 3),
        GEMMShape(m: 65, n: 1, k: 31, beta: 1, pad: 5),
        GEMMShape(m: 5, n: 9, k: 13, transB: true, alpha: 2, beta: -1, pad: 2, batch: 3),
        GEMMShape(m: 9, n: 6, k: 4, batch: 4, broadcastB: true),
    ]

    static let gemm: [KernelCase] = gemmShapes.flatMap { s in
        [GEMMBackend.openBLAS, .oneDNN].map { backend in
            let label = "sgemm \(s.m)x\(s.n)x\(s.k)\(s.transA ? " tA" : "")\(s.transB ? " tB" : "") α\(s.alpha) β\(s.beta)"
                + " pad\(s.pad) batch\(s.batch)\(s.broadcastB ? " bcastB" : "") \(backend)"
            return KernelCase(name: label, tolerance: 1e-5) { engine, random in
                let lda = (s.transA ? s.m : s.k) + s.pad, ldb = (s.transB ? s.k : s.n) + s.pad, ldc = s.n + s.pad
                let sizeA = (s.transA ? s.k : s.m) * lda, sizeB = (s.transB ? s.n : s.k) * ldb, sizeC = s.m * ldc
                let a = random.floats(sizeA * s.batch), b = random.floats(sizeB * s.batch)
                let strideB = s.broadcastB ? 0 : sizeB
                return outputs(random.floats(sizeC * s.batch)) { fast, reference in
                    engine.sgemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: s.alpha,
                                 a: a, lda: lda, b: b, ldb: ldb, beta: s.beta, c: fast, ldc: ldc,
                                 batch: s.batch, strideA: sizeA, strideB: strideB, strideC: sizeC, backend: backend)
                    KernelReference.sgemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: s.alpha,
                                          a: a, lda: lda, b: b, ldb: ldb, beta: s.beta, c: reference, ldc: ldc,
                                          batch: s.batch, strideA: sizeA, strideB: strideB, strideC: sizeC)
                }
            }
        }
    }

    static let linear: [KernelCase] = [(7, 17, 33, true), (1, 3, 1, false), (33, 64, 9, true)].map { rows, inF, outF, bias in
        KernelCase(name: "linear \(rows)x\(inF)->\(outF)\(bias ? " bias" : "")", tolerance: 1e-5) { engine, random in
            let x = random.floats(rows * inF), w = random.floats(outF * inF), b = random.floats(outF)
            return outputs([Float](repeating: .nan, count: rows * outF)) { fast, reference in
                engine.linear(x: x, rows: rows, inFeatures: inF, weight: w, bias: bias ? b : nil,
                              outFeatures: outF, y: fast)
                KernelReference.linear(x: x, rows: rows, inFeatures: inF, weight: w, bias: bias ? b : nil,
                                       outFeatures: outF, y: reference)
            }
        }
    }

    // MARK: Convolution

    static let convolutionShapes: [(String, ConvolutionParameters, Bool)] = [
        ("3x3 pad1", .init(batch: 2, inChannels: 3, outChannels: 5, inputSize: [7, 9], kernelSize: [3, 3],
                           padding: [1, 1]), true),
        ("3x3 stride2", .init(batch: 1, inChannels: 4, outChannels: 8, inputSize: [17, 16], kernelSize: [3, 3],
                              stride: [2, 2], padding: [1, 1]), true),
        ("dilation2", .init(batch: 1, inChannels: 3, outChannels: 2, inputSize: [9, 11], kernelSize: [3, 3],
                            padding: [2, 2], dilation: [2, 2]), false),
        ("groups3", .init(batch: 2, inChannels: 6, outChannels: 9, inputSize: [5, 7], kernelSize: [3, 3],
                          padding: [1, 1], groups: 3), true),
        ("depthwise", .init(batch: 1, inChannels: 8, outChannels: 8, inputSize: [6, 6], kernelSize: [3, 3],
                            padding: [1, 1], groups: 8), true),
        ("1x1", .init(batch: 1, inChannels: 33, outChannels: 17, inputSize: [3, 5], kernelSize: [1, 1]), true),
        ("1x3 asym", .init(batch: 1, inChannels: 2, outChannels: 3, inputSize: [1, 7], kernelSize: [1, 3],
                           stride: [1, 2], padding: [0, 1]), false),
        ("conv3d 3x3x3", .init(batch: 1, inChannels: 4, outChannels: 6, inputSize: [3, 5, 5], kernelSize: [3, 3, 3],
                               padding: [1, 1, 1], groups: 2), true),
        ("conv3d 1x3x3 stride", .init(batch: 2, inChannels: 3, outChannels: 4, inputSize: [2, 7, 6],
                                      kernelSize: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]), true),
    ]

    static let convolution: [KernelCase] = convolutionShapes.map { label, p, bias in
        KernelCase(name: "conv \(label) \(p.inputShape)->\(p.outputShape)", tolerance: 1e-5) { engine, random in
            let x = random.floats(p.inputShape.reduce(1, *)), w = random.floats(p.weightShape.reduce(1, *))
            let b = random.floats(p.outChannels)
            return try outputs([Float](repeating: .nan, count: p.outputShape.reduce(1, *))) { fast, reference in
                try engine.convolution(p, input: x, weight: w, bias: bias ? b : nil, output: fast)
                KernelReference.convolution(p, input: x, weight: w, bias: bias ? b : nil, output: reference)
            }
        }
    }

    // MARK: Normalisation

    static let normalization: [KernelCase] =
        [(2, 6, 35, 3, true), (1, 32, 17, 32, true), (3, 8, 33, 1, false), (1, 4, 1, 2, true)].map { n, c, s, g, affine in
            KernelCase(name: "groupNorm N\(n) C\(c) S\(s) G\(g)\(affine ? " affine" : "")", tolerance: 1e-5) { engine, random in
                let x = random.floats(n * c * s, scale: 3).map { $0 + 2 }, gamma = random.floats(c), beta = random.floats(c)
                return outputs([Float](repeating: .nan, count: x.count)) { fast, reference in
                    engine.groupNorm(x: x, y: fast, batch: n, channels: c, spatial: s, groups: g, eps: 1e-5,
                                     gamma: affine ? gamma : nil, beta: affine ? beta : nil)
                    KernelReference.groupNorm(x: x, y: reference, batch: n, channels: c, spatial: s, groups: g,
                                              eps: 1e-5, gamma: affine ? gamma : nil, beta: affine ? beta : nil)
                }
            }
        }
        + [(7, 33, true), (1, 1, true), (3, 768, false), (5, 17, true)].map { rows, dim, affine in
            KernelCase(name: "layerNorm \(rows)x\(dim)\(affine ? " affine" : "")", tolerance: 1e-5) { engine, random in
                let x = random.floats(rows * dim, scale: 4), gamma = random.floats(dim), beta = random.floats(dim)
                return outputs([Float](repeating: .nan, count: x.count)) { fast, reference in
                    engine.layerNorm(x: x, y: fast, rows: rows, dim: dim, eps: 1e-5,
                                     gamma: affine ? gamma : nil, beta: affine ? beta : nil)
                    KernelReference.layerNorm(x: x, y: reference, rows: rows, dim: dim, eps: 1e-5,
                                              gamma: affine ? gamma : nil, beta: affine ? beta : nil)
                }
            }
        }

    // MARK: Softmax and activations

    static let softmax: [KernelCase] = [(7, 17, 1), (1, 1, 1), (33, 77, 1), (3, 1000, 30)].map { rows, dim, scale in
        KernelCase(name: "softmax \(rows)x\(dim) scale\(scale)", tolerance: 1e-6) { engine, random in
            let x = random.floats(rows * dim, scale: Float(scale))
            return try outputs([Float](repeating: .nan, count: x.count)) { fast, reference in
                try engine.softmax(x: x, y: fast, rows: rows, dim: dim)
                KernelReference.softmax(x: x, y: reference, rows: rows, dim: dim)
            }
        }
    }

    static let activations: [KernelCase] = Activation.allCases.flatMap { kind in
        [1, 17, 1000].map { count in
            KernelCase(name: "\(kind) \(count)", tolerance: 1e-5) { engine, random in
                let x = random.floats(count, scale: 6)
                return try outputs([Float](repeating: .nan, count: count)) { fast, reference in
                    try engine.activation(kind, x: x, y: fast, count: count)
                    KernelReference.activation(kind, x: x, y: reference, count: count)
                }
            }
        }
    }

    // MARK: Broadcasting arithmetic

    static let binaryShapes: [(BinaryOp, [Int], [Int]?, [Int], [Int]?)] = [
        (.add, [2, 3, 4], nil, [4], nil),
        (.add, [2, 3, 17], nil, [3, 1], nil),
        (.mul, [1], nil, [5, 7], nil),
        (.sub, [2, 1, 5], nil, [3, 1], nil),
        (.div, [3, 33], nil, [3, 33], nil),
        (.mul, [2, 320, 7, 9], nil, [320, 1, 1], nil),
        (.add, [4, 3], [1, 4], [4, 3], nil),  // a is a transposed view of a 3×4 buffer
        (.mul, [3, 5], [10, 2], [1, 5], [0, 1]),  // a strided view (every other column)
    ]

    static let binary: [KernelCase] = binaryShapes.map { op, aShape, aStrides, bShape, bStrides in
        KernelCase(name: "\(op) \(aShape)\(aStrides.map { " strides\($0)" } ?? "") ⊕ \(bShape)", tolerance: 1e-6) { engine, random in
            let aSpan = aStrides.map { st in zip(aShape, st).map { ($0 - 1) * $1 }.reduce(0, +) + 1 } ?? aShape.reduce(1, *)
            let a = random.floats(aSpan), b = random.floats(bShape.reduce(1, *)).map { $0 + 2 }
            let count = max(aShape.count, bShape.count)
            let outShape = (0..<count).map { d -> Int in
                let x = d - (count - aShape.count) >= 0 ? aShape[d - (count - aShape.count)] : 1
                let y = d - (count - bShape.count) >= 0 ? bShape[d - (count - bShape.count)] : 1
                return max(x, y)
            }
            return outputs([Float](repeating: .nan, count: outShape.reduce(1, *))) { fast, reference in
                engine.binary(op, a: a, aShape: aShape, aStrides: aStrides, b: b, bShape: bShape, bStrides: bStrides,
                              out: fast)
                KernelReference.binary(op, a: a, aShape: aShape, aStrides: aStrides, b: b, bShape: bShape,
                                       bStrides: bStrides, out: reference)
            }
        }
    }

    // MARK: Attention

    struct AttentionShape: Sendable {
        var b: Int, h: Int, lq: Int, lk: Int, d: Int, dv: Int
        var mask = false, budget = 1 << 22, interleaved = false
    }

    static let attentionShapes: [AttentionShape] = [
        AttentionShape(b: 1, h: 2, lq: 7, lk: 17, d: 8, dv: 8),
        AttentionShape(b: 2, h: 3, lq: 33, lk: 5, d: 3, dv: 4, mask: true),
        AttentionShape(b: 1, h: 2, lq: 77, lk: 77, d: 16, dv: 16, mask: true, budget: 2 * 77 * 10),  // 8 chunks
        AttentionShape(b: 2, h: 4, lq: 9, lk: 13, d: 8, dv: 8, interleaved: true),
        AttentionShape(b: 1, h: 1, lq: 1, lk: 1, d: 1, dv: 1),
    ]

    static let attention: [KernelCase] = attentionShapes.map { s in
        let label = "attention B\(s.b) H\(s.h) Lq\(s.lq) Lk\(s.lk) D\(s.d) Dv\(s.dv)\(s.mask ? " mask" : "")"
            + "\(s.budget < 1 << 22 ? " chunked" : "")\(s.interleaved ? " [B,L,H,D]" : "")"
        return KernelCase(name: label, tolerance: 1e-5) { engine, random in
            let q = random.floats(s.b * s.h * s.lq * s.d), k = random.floats(s.b * s.h * s.lk * s.d)
            let v = random.floats(s.b * s.h * s.lk * s.dv)
            // A causal-style [Lq, Lk] mask broadcast over batch and heads.
            let maskValues = (0..<(s.lq * s.lk)).map { i in Float(i % s.lk > i / s.lk + 2 ? -1e9 : 0) }
            let scale = 1 / Float(s.d).squareRoot()
            return try maskValues.withUnsafeBufferPointer { m in
                let mask = s.mask ? AttentionMask(values: m.baseAddress!, batchStride: 0, headStride: 0, rowStride: s.lk) : nil
                return try outputs([Float](repeating: .nan, count: s.b * s.h * s.lq * s.dv)) { fast, reference in
                    KernelReference.attention(q: q, k: k, v: v, out: reference, batch: s.b, heads: s.h,
                                              queryLength: s.lq, keyLength: s.lk, headDim: s.d, valueDim: s.dv,
                                              mask: mask, scale: scale)
                    if s.interleaved {
                        // Same data stored [B, L, H, D], read through strided layouts; output written the same way.
                        func interleave(_ x: [Float], _ l: Int, _ d: Int) -> [Float] {
                            var y = x
                            for b in 0..<s.b { for h in 0..<s.h { for i in 0..<l { for e in 0..<d {
                                y[((b * l + i) * s.h + h) * d + e] = x[((b * s.h + h) * l + i) * d + e]
                            } } } }
                            return y
                        }
                        func layout(_ l: Int, _ d: Int) -> AttentionLayout {
                            AttentionLayout(batchStride: l * s.h * d, headStride: d, rowStride: s.h * d)
                        }
                        var outBLHD = [Float](repeating: .nan, count: s.b * s.lq * s.h * s.dv)
                        try engine.attention(q: interleave(q, s.lq, s.d), k: interleave(k, s.lk, s.d),
                                             v: interleave(v, s.lk, s.dv), out: &outBLHD, batch: s.b, heads: s.h,
                                             queryLength: s.lq, keyLength: s.lk, headDim: s.d, valueDim: s.dv,
                                             qLayout: layout(s.lq, s.d), kLayout: layout(s.lk, s.d),
                                             vLayout: layout(s.lk, s.dv), outLayout: layout(s.lq, s.dv))
                        // Back to [B, H, L, D] for the comparison.
                        for b in 0..<s.b { for h in 0..<s.h { for i in 0..<s.lq { for e in 0..<s.dv {
                            fast[((b * s.h + h) * s.lq + i) * s.dv + e] = outBLHD[((b * s.lq + i) * s.h + h) * s.dv + e]
                        } } } }
                    } else {
                        try engine.attention(q: q, k: k, v: v, out: fast, batch: s.b, heads: s.h, queryLength: s.lq,
                                             keyLength: s.lk, headDim: s.d, valueDim: s.dv, mask: mask,
                                             scoreBudget: s.budget)
                    }
                }
            }
        }
    }

    // MARK: Interpolation

    static let interpolation: [KernelCase] = InterpolationMode.allCases.flatMap { mode in
        [(2, 7, 5, 17, 9), (3, 4, 4, 8, 8), (1, 17, 13, 7, 5), (2, 1, 3, 4, 3)].map { planes, ih, iw, oh, ow in
            KernelCase(name: "interpolate \(mode) \(planes)x\(ih)x\(iw)->\(oh)x\(ow)", tolerance: 2e-6) { engine, random in
                let x = random.floats(planes * ih * iw)
                return outputs([Float](repeating: .nan, count: planes * oh * ow)) { fast, reference in
                    engine.interpolate(mode, x: x, y: fast, planes: planes, inHeight: ih, inWidth: iw,
                                       outHeight: oh, outWidth: ow)
                    KernelReference.interpolate(mode, x: x, y: reference, planes: planes, inHeight: ih, inWidth: iw,
                                                outHeight: oh, outWidth: ow)
                }
            }
        }
    }
}
