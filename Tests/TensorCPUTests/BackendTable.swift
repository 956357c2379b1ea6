import TensorCore

/// The backend parity table: every ``Backend`` op and variant on odd shapes (1, 3, 7, 17, 33), broadcasting,
/// non-contiguous views (permuted, narrowed, expanded) and float16 / bfloat16 inputs, each with the tolerance it is
/// held to (relative to the reference output's magnitude, floored at 1).
///
/// Tolerances: 1e-5 for GEMM-, convolution- and attention-based ops (float32 accumulation in a different order),
/// normalisation and oneDNN activations; 1e-6 for softmax, libm functions and interpolation; exact (0) for ops whose
/// float32 arithmetic is identical (elementwise arithmetic, affine, reductions, gathers, copies).
enum BackendTable {
    static let all: [BackendCase] =
        matmul + linear + convolution + normalization + softmax + attention + unary + binary + affine + reduce
        + embedding + interpolate + contiguous + modelSized + fused + channelsLast

    static func text(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }

    // MARK: Linear algebra

    static let matmul: [BackendCase] = [
        ([3, 7], InputLayout.dense, [7, 17], InputLayout.dense),
        ([1, 1], .dense, [1, 1], .dense),
        ([33, 17], .permuted, [17, 7], .dense),
        ([7, 33], .dense, [33, 3], .permuted),
        ([17, 7], .permuted, [7, 33], .permuted),
        ([2, 3, 5, 7], .dense, [7, 9], .dense),
        ([2, 3, 5, 7], .narrowed, [3, 7, 9], .permuted),
        ([4, 1, 5, 3], .dense, [3, 3, 7], .dense),
        ([3, 4, 17], .expanded, [3, 17, 5], .dense),
        ([3, 4, 17], .float16, [17, 5], .bfloat16),
        ([2, 7, 3], .narrowed, [2, 3, 33], .narrowed),
        ([7], .dense, [7, 3], .dense),
        ([2, 5, 7], .dense, [7], .dense),
        ([17], .dense, [17], .narrowed),
    ].map { aShape, aLayout, bShape, bLayout in
        BackendCase("matmul", nil, "\(text(aShape)) \(aLayout) · \(text(bShape)) \(bLayout)", tolerance: 1e-5) { backend, random in
            backend.matmul(random.tensor(aShape, aLayout), random.tensor(bShape, bLayout))
        }
    }

    /// Ops that compute in bfloat16 (inputs rounded to 8 significant bits, float32 accumulation): a few units of
    /// 2⁻⁸ relative to the output's magnitude.
    static let bfloat16Tolerance: Float = 2e-2

    static let linear: [BackendCase] = [
        ([3, 17], InputLayout.dense, 33, InputLayout.dense, true),
        ([2, 3, 7], .dense, 5, .dense, false),
        ([7, 33], .permuted, 17, .dense, true),
        ([2, 7, 17], .narrowed, 3, .permuted, true),
        ([4, 3, 7], .expanded, 9, .dense, false),
        ([5, 33], .float16, 7, .bfloat16, true),
        ([17], .dense, 1, .dense, true),
        ([1, 1], .dense, 1, .narrowed, false),
    ].map { xShape, xLayout, outFeatures, wLayout, hasBias in
        let inFeatures = xShape.last!
        // bfloat16 weights mean bfloat16 compute: the input is rounded to 8 significant bits first.
        return BackendCase("linear", nil, "\(text(xShape)) \(xLayout) -> \(outFeatures) weight \(wLayout)\(hasBias ? " bias" : "")",
                           tolerance: wLayout == .bfloat16 ? bfloat16Tolerance : 1e-5) { backend, random in
            let x = random.tensor(xShape, xLayout)
            let weight = random.tensor([outFeatures, inFeatures], wLayout)
            let bias = random.tensor([outFeatures])
            return backend.linear(x, weight: weight, bias: hasBias ? bias : nil)
        }
    }

    // MARK: Convolution

    struct Convolution: Sendable {
        var input: [Int]
        var outChannels: Int
        var kernel: [Int]
        var stride = [1]
        var padding = [0]
        var dilation = [1]
        var groups = 1
        var bias = true
        var layout = InputLayout.dense
        var weightLayout = InputLayout.dense
    }

    static let convolutions: [Convolution] = [
        Convolution(input: [2, 3, 7, 9], outChannels: 5, kernel: [3, 3], padding: [1]),
        Convolution(input: [1, 4, 17, 16], outChannels: 8, kernel: [3, 3], stride: [2], padding: [1]),
        Convolution(input: [1, 3, 9, 11], outChannels: 2, kernel: [3, 3], padding: [2], dilation: [2], bias: false),
        Convolution(input: [2, 6, 5, 7], outChannels: 9, kernel: [3, 3], padding: [1], groups: 3),
        Convolution(input: [1, 8, 6, 6], outChannels: 8, kernel: [3, 3], padding: [1], groups: 8, layout: .permuted),
        Convolution(input: [1, 33, 3, 5], outChannels: 17, kernel: [1, 1], layout: .narrowed),
        Convolution(input: [1, 2, 1, 7], outChannels: 3, kernel: [1, 3], stride: [1, 2], padding: [0, 1], bias: false),
        Convolution(input: [3, 4, 7, 7], outChannels: 3, kernel: [3, 3], stride: [2], padding: [1], layout: .expanded),
        Convolution(input: [1, 3, 7, 5], outChannels: 4, kernel: [3, 3], padding: [1], layout: .float16,
                    weightLayout: .bfloat16),
        // Large enough (2048 output pixels over the batch) for the channels-last path with float32 weights.
        Convolution(input: [2, 5, 32, 32], outChannels: 7, kernel: [3, 3], padding: [1]),
        Convolution(input: [2, 4, 17], outChannels: 6, kernel: [3], stride: [2], padding: [1]),
        Convolution(input: [1, 6, 33], outChannels: 3, kernel: [5], padding: [4], dilation: [2], groups: 3,
                    layout: .narrowed),
        Convolution(input: [1, 4, 3, 5, 5], outChannels: 6, kernel: [3, 3, 3], padding: [1], groups: 2),
        Convolution(input: [2, 3, 2, 7, 6], outChannels: 4, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1],
                    weightLayout: .permuted),
    ]

    static let convolution: [BackendCase] = convolutions.map { c in
        let label = "\(text(c.input)) \(c.layout) k\(text(c.kernel)) \(c.weightLayout) stride\(text(c.stride))"
            + " pad\(text(c.padding)) dil\(text(c.dilation)) groups\(c.groups)\(c.bias ? " bias" : "")"
        return BackendCase("convolution", nil, label, tolerance: c.weightLayout == .bfloat16 ? bfloat16Tolerance : 1e-5) { backend, random in
            let x = random.tensor(c.input, c.layout)
            let weight = random.tensor([c.outChannels, c.input[1] / c.groups] + c.kernel, c.weightLayout)
            let bias = random.tensor([c.outChannels])
            return backend.convolution(x, weight: weight, bias: c.bias ? bias : nil, stride: c.stride,
                                       padding: c.padding, dilation: c.dilation, groups: c.groups)
        }
    }

    // MARK: Normalisation and softmax

    static let normalization: [BackendCase] = [
        ([2, 6, 5, 7], 3, true, InputLayout.dense, Float(1e-5)),
        ([1, 32, 9], 32, false, .dense, 1e-6),
        ([3, 4], 2, true, .dense, 1e-5),
        ([2, 6, 7, 3], 2, true, .permuted, 1e-5),
        ([1, 4, 3, 5, 5], 2, true, .narrowed, 1e-6),
        ([3, 6, 17], 3, false, .expanded, 1e-5),
        ([1, 8, 7, 7], 4, true, .float16, 1e-5),
    ].map { shape, groups, affine, layout, eps in
        BackendCase("groupNorm", nil, "\(text(shape)) \(layout) groups\(groups)\(affine ? " affine" : "") eps\(eps)",
                    tolerance: 1e-5) { backend, random in
            let x = random.tensor(shape, layout, scale: 3)
            let weight = random.tensor([shape[1]]), bias = random.tensor([shape[1]])
            return backend.groupNorm(x, groups: groups, weight: affine ? weight : nil, bias: affine ? bias : nil,
                                     epsilon: eps)
        }
    } + [
        ([7, 33], InputLayout.dense, true, true),
        ([2, 3, 17], .dense, false, false),
        ([1, 768], .dense, true, true),
        ([3, 7, 17], .narrowed, true, false),
        ([17, 3], .permuted, false, true),
        ([2, 5, 33], .bfloat16, true, true),
        ([4, 1], .expanded, true, true),
    ].map { shape, layout, hasWeight, hasBias in
        BackendCase("layerNorm", nil, "\(text(shape)) \(layout)\(hasWeight ? " weight" : "")\(hasBias ? " bias" : "")",
                    tolerance: 1e-5) { backend, random in
            let x = random.tensor(shape, layout, scale: 2)
            let weight = random.tensor([shape.last!]), bias = random.tensor([shape.last!])
            return backend.layerNorm(x, weight: hasWeight ? weight : nil, bias: hasBias ? bias : nil, epsilon: 1e-5)
        }
    }

    static let softmax: [BackendCase] = [
        ([7, 33], InputLayout.dense, Float(1)),
        ([3, 1], .dense, 1),
        ([2, 3, 17], .dense, 10),
        ([17, 7], .permuted, 5),
        ([3, 4, 33], .narrowed, 3),
        ([3, 7], .expanded, 1),
        ([5, 17], .float16, 8),
    ].map { shape, layout, scale in
        BackendCase("softmax", nil, "\(text(shape)) \(layout) scale\(scale)", tolerance: 1e-6) { backend, random in
            backend.softmax(random.tensor(shape, layout, scale: scale))
        }
    } + [
        BackendCase("softmax", nil, "[4,7] with -inf entries", tolerance: 1e-6) { backend, random in
            var values = random.floats(28, scale: 4)
            for i in stride(from: 0, to: 28, by: 3) { values[i] = -.infinity }
            return backend.softmax(Tensor(shape: [4, 7], scalars: values))
        },
    ]

    // MARK: Attention

    enum MaskKind: String, Sendable { case none, causal, padding, full }

    struct Attention: Sendable {
        var batch: Int, heads: Int, queries: Int, keys: Int, dim: Int, valueDim: Int
        var mask = MaskKind.none
        var scale: Float? = nil
        /// Layout of q (permuted means read from a `[B, L, H, D]` projection), k and v.
        var layout = InputLayout.dense
        var sharedKeys = false
    }

    static let attentions: [Attention] = [
        Attention(batch: 1, heads: 1, queries: 7, keys: 7, dim: 8, valueDim: 8),
        Attention(batch: 2, heads: 3, queries: 17, keys: 33, dim: 8, valueDim: 5, scale: 0.3),
        Attention(batch: 2, heads: 2, queries: 7, keys: 7, dim: 4, valueDim: 4, mask: .causal),
        Attention(batch: 3, heads: 2, queries: 5, keys: 17, dim: 8, valueDim: 8, mask: .padding),
        Attention(batch: 1, heads: 3, queries: 7, keys: 3, dim: 17, valueDim: 7, mask: .full),
        Attention(batch: 2, heads: 3, queries: 17, keys: 17, dim: 8, valueDim: 8, mask: .causal, layout: .permuted),
        Attention(batch: 2, heads: 3, queries: 7, keys: 9, dim: 8, valueDim: 8, sharedKeys: true),
        // Short sequences without a mask run as one batch of B·H heads (interleaved heads gathered first).
        Attention(batch: 5, heads: 2, queries: 4, keys: 4, dim: 8, valueDim: 6, layout: .permuted),
        Attention(batch: 4, heads: 3, queries: 3, keys: 5, dim: 8, valueDim: 8, layout: .narrowed),
        Attention(batch: 1, heads: 2, queries: 1, keys: 33, dim: 8, valueDim: 8, mask: .padding, layout: .narrowed),
        Attention(batch: 2, heads: 1, queries: 3, keys: 7, dim: 8, valueDim: 3, mask: .full, layout: .float16),
        Attention(batch: 2, heads: 2, queries: 33, keys: 1, dim: 3, valueDim: 2, layout: .bfloat16),
        Attention(batch: 1, heads: 3, queries: 17, keys: 33, dim: 8, valueDim: 8, mask: .padding, layout: .bfloat16),
    ]

    static let attention: [BackendCase] = attentions.map { a in
        let label = "B\(a.batch) H\(a.heads) Lq\(a.queries) Lk\(a.keys) D\(a.dim) Dv\(a.valueDim) mask \(a.mask.rawValue)"
            + " \(a.layout)\(a.sharedKeys ? " shared keys" : "")\(a.scale.map { " scale\($0)" } ?? "")"
        // bfloat16 queries, keys and values run the bfloat16 kernel: the probabilities are rounded to bfloat16.
        return BackendCase("attention", nil, label, tolerance: a.layout == .bfloat16 ? bfloat16Tolerance : 1e-5) { backend, random in
            func operand(_ length: Int, _ width: Int) -> Tensor {
                switch a.layout {
                case .permuted:
                    // A [B, L, H, D] projection read as heads.
                    return random.tensor([a.batch, length, a.heads, width]).permuted([0, 2, 1, 3])
                case .narrowed:
                    // Heads sliced out of a wider projection: row stride > width.
                    return random.tensor([a.batch, length, a.heads, width + 5]).permuted([0, 2, 1, 3])
                        .narrowed(dim: 3, start: 2, length: width)
                default:
                    return random.tensor([a.batch, a.heads, length, width], a.layout)
                }
            }
            let q = operand(a.queries, a.dim)
            let k = a.sharedKeys
                ? random.tensor([a.batch, 1, a.keys, a.dim]).expanded(to: [a.batch, a.heads, a.keys, a.dim])
                : operand(a.keys, a.dim)
            let v = operand(a.keys, a.valueDim)
            let mask: Tensor?
            switch a.mask {
            case .none: mask = nil
            case .causal:
                mask = Tensor(shape: [a.queries, a.keys], scalars: (0..<(a.queries * a.keys)).map {
                    $0 % a.keys > $0 / a.keys ? -.infinity : 0
                })
            case .padding:
                mask = Tensor(shape: [a.batch, 1, 1, a.keys], scalars: (0..<(a.batch * a.keys)).map {
                    $0 % a.keys >= a.keys - 1 - $0 / a.keys ? -.infinity : 0
                }.enumerated().map { $0.offset % a.keys == 0 ? 0 : $0.element })
            case .full: mask = random.tensor([a.batch, a.heads, a.queries, a.keys], scale: 3)
            }
            return backend.attention(query: q, key: k, value: v, mask: mask, scale: a.scale)
        }
    } + [
        BackendCase("attention", nil, "bfloat16 heads interleaved in [2,9,3,8] projections", tolerance: bfloat16Tolerance) {
            backend, random in
            // A bfloat16 model's projections split into heads: each row holds every head (gathered head-major).
            func heads(_ length: Int) -> Tensor {
                random.tensor([2, length, 3, 8]).contiguous(as: .bfloat16).permuted([0, 2, 1, 3])
            }
            return backend.attention(query: heads(9), key: heads(13), value: heads(13), mask: nil, scale: nil)
        },
        BackendCase("attention", nil, "rank 3 [3,7,8]·[3,17,8] mask [7,17]", tolerance: 1e-5) { backend, random in
            backend.attention(query: random.tensor([3, 7, 8]), key: random.tensor([3, 17, 8]),
                              value: random.tensor([3, 17, 5]), mask: random.tensor([7, 17]), scale: nil)
        },
        BackendCase("attention", nil, "rank 5 [2,2,2,5,4] permuted", tolerance: 1e-5) { backend, random in
            backend.attention(query: random.tensor([2, 2, 2, 5, 4], .permuted),
                              key: random.tensor([2, 2, 2, 7, 4]), value: random.tensor([2, 2, 2, 7, 3]),
                              mask: nil, scale: 0.5)
        },
    ]

    // MARK: Elementwise

    static let unary: [BackendCase] = UnaryOp.allCases.flatMap { op in
        [([3, 17], InputLayout.dense), ([7, 33], .permuted), ([2, 5, 7], .narrowed), ([3, 7], .float16),
         ([1, 1], .expanded)].map { shape, layout in
            let tolerance: Float = [.gelu, .geluTanh, .silu, .quickGelu].contains(op) ? 1e-5 : 1e-6
            return BackendCase("unary", op.rawValue, "\(text(shape)) \(layout)", tolerance: tolerance) { backend, random in
                // sqrt gets inputs in [0, 10).
                backend.unary(op, random.tensor(shape, layout, scale: 5, shift: op == .sqrt ? 5 : 0))
            }
        }
    }

    static let binary: [BackendCase] = TensorCore.BinaryOp.allCases.flatMap { op in
        [
            ([3, 17], InputLayout.dense, [3, 17], InputLayout.dense),
            ([2, 3, 7], .dense, [7], .dense),
            ([4, 1, 5], .dense, [3, 1], .dense),
            ([], .dense, [3, 3], .dense),
            ([7, 33], .permuted, [7, 33], .narrowed),
            ([3, 17], .expanded, [1, 17], .float16),
            ([2, 7, 3], .bfloat16, [2, 1, 3], .permuted),
            ([1, 33], .dense, [17, 1], .dense),
        ].map { aShape, aLayout, bShape, bLayout in
            BackendCase("binary", op.rawValue, "\(text(aShape)) \(aLayout) ⊕ \(text(bShape)) \(bLayout)",
                        tolerance: 0) { backend, random in
                backend.binary(op, random.tensor(aShape, aLayout), random.tensor(bShape, bLayout))
            }
        }
    } + [TensorCore.BinaryOp.maximum, .minimum].map { op in
        BackendCase("binary", op.rawValue, "[2,9] with NaN", tolerance: 0) { backend, random in
            var values = random.floats(18)
            values[4] = .nan
            return backend.binary(op, Tensor(shape: [2, 9], scalars: values), random.tensor([9]))
        }
    }

    static let affine: [BackendCase] = [
        ([3, 17], InputLayout.dense), ([7, 33], .permuted), ([3, 5, 7], .narrowed), ([4, 9], .expanded),
        ([33], .float16),
    ].map { shape, layout in
        BackendCase("affine", nil, "\(text(shape)) \(layout)", tolerance: 0) { backend, random in
            backend.affine(random.tensor(shape, layout, scale: 3), scale: 0.18215, shift: -0.5)
        }
    }

    // MARK: Fused ops

    /// Group normalisation with an activation (the res blocks' `norm → SiLU`), and the video blends' weighted sum
    /// over a dense tensor and a permuted (frames-first) view of another.
    static let fused: [BackendCase] = [
        ([2, 6, 5, 7], 3, UnaryOp.silu, InputLayout.dense),
        ([1, 64, 9, 11], 32, .silu, .permuted),
        ([1, 8, 3, 4, 5], 4, .gelu, .dense),
        ([2, 8, 7], 2, .tanh, .float16),
    ].map { shape, groups, op, layout in
        BackendCase("groupNorm", nil, "\(text(shape)) \(layout) groups\(groups) then \(op)", tolerance: 1e-5) { backend, random in
            let x = random.tensor(shape, layout, scale: 3)
            return backend.groupNorm(x, groups: groups, weight: random.tensor([shape[1]]), bias: random.tensor([shape[1]]),
                                     epsilon: 1e-6, activation: op)
        }
    } + [
        ([3, 17], InputLayout.dense, InputLayout.dense), ([7, 33], .permuted, .dense), ([3, 5, 7], .narrowed, .expanded),
        ([4, 9], .dense, .float16),
    ].map { shape, left, right in
        BackendCase("weightedSum", nil, "\(text(shape)) \(left) \(right)", tolerance: 0) { backend, random in
            backend.weightedSum(random.tensor(shape, left, scale: 3), 0.3, random.tensor(shape, right, scale: 2), 0.7)
        }
    } + [
        // GEGLU feed-forwards: small widths, views, bfloat16 weights, and 1 100 rows of a 4 096-wide layer (more
        // than one of the CPU backend's row blocks, so the blocks' seams are covered).
        ([3, 17], InputLayout.dense, 5, 7, InputLayout.dense, true),
        ([2, 9, 16], .narrowed, 33, 16, .dense, false),
        ([9, 16], .permuted, 33, 16, .dense, true),
        ([5, 33], .dense, 8, 7, .bfloat16, true),
        ([1100, 8], .dense, 4096, 3, .dense, true),
        ([1100, 8], .dense, 4096, 3, .bfloat16, false),
    ].map { xShape, xLayout, inner, outDim, wLayout, hasBias in
        let dim = xShape.last!
        let label = "\(text(xShape)) \(xLayout) inner \(inner) -> \(outDim) weights \(wLayout)\(hasBias ? " biases" : "")"
        return BackendCase("gegluFeedForward", nil, label, tolerance: wLayout == .bfloat16 ? bfloat16Tolerance : 1e-5) {
            backend, random in
            let x = random.tensor(xShape, xLayout, scale: 2)
            let projection = random.tensor([2 * inner, dim], wLayout), output = random.tensor([outDim, inner], wLayout)
            return backend.gegluFeedForward(x, projection: projection, projectionBias: hasBias ? random.tensor([2 * inner]) : nil,
                                            output: output, outputBias: hasBias ? random.tensor([outDim]) : nil)
        }
    } + [
        BackendCase("weightedSum", nil, "[2,3,4,5,6] frames-first view", tolerance: 0) { backend, random in
            let video = random.tensor([2, 4, 3, 5, 6], scale: 3)  // [B, C, T, H, W]
            let framesFirst = video.permuted([0, 2, 1, 3, 4])     // [B, T, C, H, W]
            return backend.weightedSum(framesFirst, 0.62, random.tensor([2, 3, 4, 5, 6]), 0.38)
        },
    ]

    // MARK: Channels-last chains

    /// Ops on a map after ``Backend/channelsLast(_:)``: the CPU backend keeps the layout through convolutions
    /// (float32 and bfloat16 weights, 3×3 and 1×1, strided), group norms, activations, sums, weighted sums and
    /// nearest upsampling, and transposes back for any other op; the reference backend's hint is the identity.
    static let channelsLast: [BackendCase] = [
        BackendCase("channelsLast", nil, "[2,5,7,3] round trip", tolerance: 0) { backend, random in
            backend.contiguous(backend.channelsLast(random.tensor([2, 5, 7, 3])))
        },
        BackendCase("channelsLast", nil, "[1,16,9,11] resnet chain", tolerance: 1e-5) { backend, random in
            let x = backend.channelsLast(random.tensor([1, 16, 9, 11], scale: 2))
            let w1 = random.tensor([8, 16, 3, 3], scale: 0.2), b1 = random.tensor([8])
            let w2 = random.tensor([8, 8, 3, 3], scale: 0.2), skip = random.tensor([8, 16, 1, 1], scale: 0.3)
            let gamma = random.tensor([16]), beta = random.tensor([16])
            var h = backend.groupNorm(x, groups: 4, weight: gamma, bias: beta, epsilon: 1e-6, activation: .silu)
            h = backend.convolution(h, weight: w1, bias: b1, stride: [1], padding: [1], dilation: [1], groups: 1)
            h = backend.unary(.silu, backend.groupNorm(h, groups: 2, weight: nil, bias: nil, epsilon: 1e-6))
            h = backend.convolution(h, weight: w2, bias: nil, stride: [1], padding: [1], dilation: [1], groups: 1)
            let shortcut = backend.convolution(x, weight: skip, bias: nil, stride: [1], padding: [0], dilation: [1],
                                               groups: 1)
            let sum = backend.add(shortcut, h)
            let up = backend.interpolate(backend.weightedSum(sum, 0.25, h, 0.75), size: (18, 22), mode: .nearest)
            return backend.contiguous(up)
        },
        BackendCase("channelsLast", nil, "[2,8,10,10] strided conv, bfloat16 weights, then other ops", tolerance: 2e-2) {
            backend, random in
            let x = backend.channelsLast(random.tensor([2, 8, 10, 10]))
            let w = random.tensor([6, 8, 3, 3], scale: 0.3).contiguous(as: .bfloat16)
            let h = backend.convolution(x, weight: w, bias: nil, stride: [2], padding: [1], dilation: [1], groups: 1)
            // Ops without a channels-last kernel read the map back in the channels-first layout.
            let resized = backend.interpolate(h, size: (7, 3), mode: .bilinear)  // [2, 6, 7, 3]
            return backend.softmax(backend.binary(.maximum, h.narrowed(dim: 2, start: 0, length: 3).transposed(2, 3)
                .narrowed(dim: 2, start: 0, length: 3), resized.narrowed(dim: 2, start: 2, length: 3)))
        },
    ]

    // MARK: Reductions and gathers

    static let reduce: [BackendCase] = ReduceOp.allCases.flatMap { op in
        [
            ([3, 7, 17], InputLayout.dense, [-1], false),
            ([3, 7, 17], .dense, [0, 2], true),
            ([3, 7, 17], .narrowed, [], false),
            ([7, 33], .permuted, [1], true),
            ([5, 3], .expanded, [0], false),
            ([2, 4, 9], .float16, [-2], false),
        ].map { shape, layout, dims, keep in
            BackendCase("reduce", op.rawValue, "\(text(shape)) \(layout) dims\(text(dims))\(keep ? " keep" : "")",
                        tolerance: 0) { backend, random in
                backend.reduce(op, random.tensor(shape, layout), dims: dims, keepDims: keep)
            }
        }
    }

    static let embedding: [BackendCase] = [
        ([2, 7], [33, 17], InputLayout.dense), ([5], [7, 3], .float16), ([1, 3, 4], [17, 33], .narrowed),
        ([9], [3, 7], .bfloat16),
    ].map { idShape, tableShape, layout in
        BackendCase("embedding", nil, "ids\(text(idShape)) table\(text(tableShape)) \(layout)", tolerance: 0) { backend, random in
            let ids = random.ids(idShape, below: tableShape[0])
            return backend.embedding(ids, table: random.tensor(tableShape, layout))
        }
    }

    static let interpolate: [BackendCase] = TensorCore.InterpolationMode.allCases.flatMap { mode in
        [
            ([1, 3, 4, 5], InputLayout.dense, (8, 10)),
            ([2, 2, 7, 3], .dense, (3, 7)),
            ([1, 1, 4, 5], .dense, (4, 5)),
            ([1, 3, 17, 33], .dense, (7, 3)),
            ([1, 2, 3, 7], .permuted, (17, 33)),
            ([2, 3, 5, 6], .narrowed, (7, 11)),
            ([3, 2, 3, 3], .expanded, (1, 1)),
            ([1, 2, 5, 4], .float16, (9, 6)),
            ([3, 5, 6], .dense, (10, 13)),
        ].map { shape, layout, size in
            BackendCase("interpolate", mode.rawValue, "\(text(shape)) \(layout) -> \(size.0)x\(size.1)",
                        tolerance: 1e-6) { backend, random in
                backend.interpolate(random.tensor(shape, layout), size: (height: size.0, width: size.1), mode: mode)
            }
        }
    }

    static let contiguous: [BackendCase] = InputLayout.allCases.map { layout in
        BackendCase("contiguous", nil, "[3,7,17] \(layout)", tolerance: 0) { backend, random in
            backend.contiguous(random.tensor([3, 7, 17], layout))
        }
    }

    // MARK: Model-sized shapes (large enough for the kernels' threaded and chunked paths)

    static let modelSized: [BackendCase] = [
        BackendCase("linear", nil, "CLIP [2,77,768] -> 768 bias", tolerance: 1e-5) { backend, random in
            backend.linear(random.tensor([2, 77, 768]), weight: random.tensor([768, 768], scale: 0.05),
                           bias: random.tensor([768]))
        },
        BackendCase("attention", nil, "CLIP B2 H12 L77 D64 from [B,L,H,D] causal", tolerance: 1e-5) { backend, random in
            func heads() -> Tensor { random.tensor([2, 77, 12, 64]).permuted([0, 2, 1, 3]) }
            let causal = Tensor(shape: [77, 77], scalars: (0..<(77 * 77)).map { $0 % 77 > $0 / 77 ? -.infinity : 0 })
            return backend.attention(query: heads(), key: heads(), value: heads(), mask: causal, scale: nil)
        },
        BackendCase("attention", nil, "chunked B1 H2 Lq1100 Lk2000 D8", tolerance: 1e-5) { backend, random in
            backend.attention(query: random.tensor([1, 2, 1100, 8]), key: random.tensor([1, 2, 2000, 8]),
                              value: random.tensor([1, 2, 2000, 8]), mask: nil, scale: nil)
        },
        BackendCase("convolution", nil, "[1,32,33,33] -> 64 3x3 pad1", tolerance: 1e-5) { backend, random in
            backend.convolution(random.tensor([1, 32, 33, 33]), weight: random.tensor([64, 32, 3, 3], scale: 0.1),
                                bias: random.tensor([64]), stride: [1], padding: [1], dilation: [1], groups: 1)
        },
        BackendCase("groupNorm", nil, "[2,64,33,33] groups32 affine", tolerance: 1e-5) { backend, random in
            backend.groupNorm(random.tensor([2, 64, 33, 33], scale: 4), groups: 32, weight: random.tensor([64]),
                              bias: random.tensor([64]), epsilon: 1e-6)
        },
        BackendCase("layerNorm", nil, "[2,77,768] affine", tolerance: 1e-5) { backend, random in
            backend.layerNorm(random.tensor([2, 77, 768], scale: 3), weight: random.tensor([768]),
                              bias: random.tensor([768]), epsilon: 1e-5)
        },
        BackendCase("softmax", nil, "[924,77] scale8", tolerance: 1e-6) { backend, random in
            backend.softmax(random.tensor([924, 77], scale: 8))
        },
        BackendCase("unary", "gelu", "[77,3072]", tolerance: 1e-5) { backend, random in
            backend.unary(.gelu, random.tensor([77, 3072], scale: 5))
        },
        BackendCase("binary", "add", "[2,320,33,33] + [320,1,1] bias", tolerance: 0) { backend, random in
            backend.binary(.add, random.tensor([2, 320, 33, 33]), random.tensor([320, 1, 1]))
        },
        BackendCase("interpolate", "bilinear", "[1,16,64,64] -> 128x128", tolerance: 1e-6) { backend, random in
            backend.interpolate(random.tensor([1, 16, 64, 64]), size: (128, 128), mode: .bilinear)
        },
        BackendCase("matmul", nil, "[8,257,40]·[8,40,257]ᵀ batched", tolerance: 1e-5) { backend, random in
            backend.matmul(random.tensor([8, 257, 40]), random.tensor([8, 257, 40]).transposed(-1, -2))
        },
    ]
}
