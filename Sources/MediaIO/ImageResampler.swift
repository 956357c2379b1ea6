import TensorCore

/// Image resizing as ComfyUI's `comfy.utils.common_upscale` does it.
///
/// `nearest-exact`, `bilinear`, `bicubic` (Keys cubic convolution, a = −0.75) and `area` (adaptive
/// average pooling) follow PyTorch's `F.interpolate(..., align_corners=False)` index and weight
/// formulas in `Float`; `lanczos` follows Pillow's 8-bit Lanczos-3 resampler (ComfyUI round-trips
/// through PIL for it). Center cropping matches `common_upscale`'s aspect-preserving crop.
public enum ImageResampler {
    /// Interpolation methods, named as in ComfyUI's COMBO lists.
    public enum Method: String, Sendable, CaseIterable {
        case nearestExact = "nearest-exact"
        case bilinear
        case area
        case bicubic
        case lanczos
    }

    /// `common_upscale`'s crop modes.
    public enum Crop: String, Sendable, CaseIterable {
        case disabled
        case center
    }

    /// Tensor layouts: ComfyUI IMAGE (`[B, H, W, C]`) or planes (`[..., H, W]`, e.g. MASK or latents).
    public enum Layout: Sendable {
        case channelsLast
        case channelsFirst
    }

    /// Resizes `tensor` to `width × height`.
    /// - Parameters:
    ///   - tensor: `[B, H, W, C]` for `.channelsLast`, `[..., H, W]` (rank ≥ 2) for `.channelsFirst`.
    ///   - width: output width (≥ 1).
    ///   - height: output height (≥ 1).
    ///   - method: the interpolation.
    ///   - crop: `.center` first crops the input to the output's aspect ratio.
    ///   - layout: how `tensor` is laid out.
    /// - Returns: the resized tensor in the same layout.
    public static func resize(_ tensor: Tensor, width: Int, height: Int, method: Method, crop: Crop = .disabled,
                              layout: Layout = .channelsLast) -> Tensor {
        precondition(width > 0 && height > 0, "output size must be positive")
        let g = Geometry(tensor.shape, layout: layout)
        var region = Region(y: 0, x: 0, height: g.height, width: g.width)
        if crop == .center { region = centerCrop(inWidth: g.width, inHeight: g.height, width: width, height: height) }
        var outShape = tensor.shape
        switch layout {
        case .channelsLast: outShape[1] = height; outShape[2] = width
        case .channelsFirst: outShape[outShape.count - 2] = height; outShape[outShape.count - 1] = width
        }
        let outGeometry = Geometry(outShape, layout: layout)
        var out = [Float](repeating: 0, count: outShape.reduce(1, *))
        tensor.scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                switch method {
                case .area:
                    area(src, g, region, dst, outGeometry)
                case .lanczos:
                    lanczos(src, g, region, dst, outGeometry)
                default:
                    let wx = weights(method, inSize: region.width, outSize: width)
                    let wy = weights(method, inSize: region.height, outSize: height)
                    separable(src, g, region, dst, outGeometry, wx: wx, wy: wy)
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// Strided view of the planes of a tensor.
    struct Geometry {
        var planes: Int, height: Int, width: Int
        var rowStride: Int, colStride: Int
        var layout: Layout
        var channels: Int

        init(_ shape: [Int], layout: Layout) {
            self.layout = layout
            switch layout {
            case .channelsLast:
                precondition(shape.count == 4, "channels-last tensors must be [B, H, W, C]")
                planes = shape[0] * shape[3]; height = shape[1]; width = shape[2]; channels = shape[3]
                rowStride = shape[2] * shape[3]; colStride = shape[3]
            case .channelsFirst:
                precondition(shape.count >= 2, "channels-first tensors must have rank >= 2")
                height = shape[shape.count - 2]; width = shape[shape.count - 1]
                planes = shape.dropLast(2).reduce(1, *); channels = 1
                rowStride = width; colStride = 1
            }
        }

        /// Offset of element (0, 0) of plane `p`.
        func base(_ p: Int) -> Int {
            switch layout {
            case .channelsLast: return (p / channels) * height * width * channels + p % channels
            case .channelsFirst: return p * height * width
            }
        }
    }

    /// A rectangle of the input.
    struct Region { var y: Int, x: Int, height: Int, width: Int }

    /// `common_upscale`'s center crop: trims the longer side so the aspect ratio matches the output
    /// (`round` is Python's, ties to even).
    static func centerCrop(inWidth: Int, inHeight: Int, width: Int, height: Int) -> Region {
        let oldAspect = Double(inWidth) / Double(inHeight)
        let newAspect = Double(width) / Double(height)
        var x = 0, y = 0
        if oldAspect > newAspect {
            x = Int(((Double(inWidth) - Double(inWidth) * (newAspect / oldAspect)) / 2).rounded(.toNearestOrEven))
        } else if oldAspect < newAspect {
            y = Int(((Double(inHeight) - Double(inHeight) * (oldAspect / newAspect)) / 2).rounded(.toNearestOrEven))
        }
        return Region(y: y, x: x, height: max(1, inHeight - 2 * y), width: max(1, inWidth - 2 * x))
    }

    /// Per-output-index source taps `(index, weight)` for the separable methods.
    static func weights(_ method: Method, inSize: Int, outSize: Int) -> [[(Int, Float)]] {
        let scale = Float(inSize) / Float(outSize)
        return (0..<outSize).map { o -> [(Int, Float)] in
            switch method {
            case .nearestExact:
                return [(min(Int((Float(o) + 0.5) * scale), inSize - 1), 1)]
            case .bilinear:
                if inSize == outSize { return [(o, 1), (o, 0)] }
                var real = scale * (Float(o) + 0.5) - 0.5
                if real < 0 { real = 0 }
                let i0 = min(Int(real.rounded(.down)), inSize - 1)
                let l1 = min(max(real - Float(i0), 0), 1)
                let i1 = i0 + (i0 < inSize - 1 ? 1 : 0)
                return [(i0, 1 - l1), (i1, l1)]
            case .bicubic:
                let real = scale * (Float(o) + 0.5) - 0.5
                let i = Int(real.rounded(.down))
                let t = real - Float(i)
                let c = cubicCoefficients(t)
                return (0..<4).map { j in (min(max(i - 1 + j, 0), inSize - 1), c[j]) }
            case .area, .lanczos:
                preconditionFailure("not separable here")
            }
        }
    }

    /// Keys cubic convolution coefficients with a = −0.75 (PyTorch's `get_cubic_upsample_coefficients`).
    static func cubicCoefficients(_ t: Float) -> [Float] {
        let a: Float = -0.75
        func conv1(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func conv2(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return [conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t)]
    }

    /// Width pass, then height pass over the width-pass rows. Each output is
    /// `Σ_k (Σ_j x[k][j]·wx[j])·wy[k]`, accumulated in the same order as PyTorch's `Interpolate`
    /// recursion, so the two-pass form gives the same `Float` results as the nested one.
    private static func separable(_ src: UnsafeBufferPointer<Float>, _ g: Geometry, _ r: Region,
                                  _ dst: UnsafeMutableBufferPointer<Float>, _ og: Geometry,
                                  wx: [[(Int, Float)]], wy: [[(Int, Float)]]) {
        let ow = og.width
        var rows = [Float](repeating: 0, count: r.height * ow)
        for p in 0..<g.planes {
            let sb = g.base(p) + r.y * g.rowStride + r.x * g.colStride
            for iy in 0..<r.height {
                let row = sb + iy * g.rowStride
                for ox in 0..<ow {
                    let taps = wx[ox]
                    var t = src[row + taps[0].0 * g.colStride] * taps[0].1
                    for j in 1..<taps.count { t = t + src[row + taps[j].0 * g.colStride] * taps[j].1 }
                    rows[iy * ow + ox] = t
                }
            }
            let db = og.base(p)
            for oy in 0..<og.height {
                let taps = wy[oy]
                for ox in 0..<ow {
                    var acc = rows[taps[0].0 * ow + ox] * taps[0].1
                    for k in 1..<taps.count { acc = acc + rows[taps[k].0 * ow + ox] * taps[k].1 }
                    dst[db + oy * og.rowStride + ox * og.colStride] = acc
                }
            }
        }
    }

    /// Adaptive average pooling (PyTorch's `adaptive_avg_pool2d`): window
    /// `[floor(o·in/out), ceil((o+1)·in/out))`, sum then divide by the window height and width.
    private static func area(_ src: UnsafeBufferPointer<Float>, _ g: Geometry, _ r: Region,
                             _ dst: UnsafeMutableBufferPointer<Float>, _ og: Geometry) {
        func start(_ o: Int, _ outSize: Int, _ inSize: Int) -> Int { (o * inSize) / outSize }
        func end(_ o: Int, _ outSize: Int, _ inSize: Int) -> Int { ((o + 1) * inSize + outSize - 1) / outSize }
        for p in 0..<g.planes {
            let sb = g.base(p) + r.y * g.rowStride + r.x * g.colStride
            let db = og.base(p)
            for oy in 0..<og.height {
                let y0 = start(oy, og.height, r.height), y1 = end(oy, og.height, r.height)
                for ox in 0..<og.width {
                    let x0 = start(ox, og.width, r.width), x1 = end(ox, og.width, r.width)
                    var sum: Float = 0
                    for y in y0..<y1 { for x in x0..<x1 { sum += src[sb + y * g.rowStride + x * g.colStride] } }
                    dst[db + oy * og.rowStride + ox * og.colStride] = sum / Float(y1 - y0) / Float(x1 - x0)
                }
            }
        }
    }
}
