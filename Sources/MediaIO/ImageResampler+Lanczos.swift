import Foundation
import TensorCore

extension ImageResampler {
    /// Pillow's fixed-point precision for 8-bit resampling (`PRECISION_BITS = 32 - 8 - 2`).
    private static let precisionBits = 22

    /// Lanczos-3 as ComfyUI runs it: quantise to 8 bits, resize with Pillow's two-pass convolution
    /// (horizontal, then vertical; support scaled by the reduction factor; coefficients normalised
    /// and rounded to 22-bit fixed point; 8-bit clamping after each pass), then divide by 255.
    static func lanczos(_ src: UnsafeBufferPointer<Float>, _ g: Geometry, _ r: Region,
                        _ dst: UnsafeMutableBufferPointer<Float>, _ og: Geometry) {
        let kx = coefficients(inSize: r.width, outSize: og.width)
        let ky = coefficients(inSize: r.height, outSize: og.height)
        let needH = og.width != r.width
        let needV = og.height != r.height
        for p in 0..<g.planes {
            let sb = g.base(p) + r.y * g.rowStride + r.x * g.colStride
            // Quantised input plane (region only).
            var plane = [Int32](repeating: 0, count: r.height * r.width)
            for y in 0..<r.height {
                for x in 0..<r.width { plane[y * r.width + x] = Int32(Tensor.quantize(src[sb + y * g.rowStride + x * g.colStride])) }
            }
            var w = r.width
            if needH {
                var next = [Int32](repeating: 0, count: r.height * og.width)
                for y in 0..<r.height {
                    for ox in 0..<og.width {
                        let (start, taps) = kx[ox]
                        var ss: Int64 = 1 << (precisionBits - 1)
                        for (j, k) in taps.enumerated() { ss += Int64(plane[y * w + start + j]) * Int64(k) }
                        next[y * og.width + ox] = clip8(ss)
                    }
                }
                plane = next
                w = og.width
            }
            if needV {
                var next = [Int32](repeating: 0, count: og.height * w)
                for oy in 0..<og.height {
                    let (start, taps) = ky[oy]
                    for x in 0..<w {
                        var ss: Int64 = 1 << (precisionBits - 1)
                        for (j, k) in taps.enumerated() { ss += Int64(plane[(start + j) * w + x]) * Int64(k) }
                        next[oy * w + x] = clip8(ss)
                    }
                }
                plane = next
            }
            let db = og.base(p)
            for y in 0..<og.height {
                for x in 0..<og.width { dst[db + y * og.rowStride + x * og.colStride] = Float(plane[y * og.width + x]) / 255 }
            }
        }
    }

    private static func clip8(_ ss: Int64) -> Int32 {
        let v = ss >> Int64(precisionBits)
        return Int32(min(max(v, 0), 255))
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let px = x * Double.pi
        return sin(px) / px
    }

    private static func lanczosKernel(_ x: Double) -> Double {
        (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0
    }

    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`: per output index, the first source
    /// index and the fixed-point taps.
    static func coefficients(inSize: Int, outSize: Int) -> [(Int, [Int32])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 3.0 * filterScale
        return (0..<outSize).map { xx in
            let center = (Double(xx) + 0.5) * scale
            let ss = 1 / filterScale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var k = (0..<max(xmax, 0)).map { x in lanczosKernel((Double(x + xmin) - center + 0.5) * ss) }
            let total = k.reduce(0, +)
            if total != 0 { k = k.map { $0 / total } }
            let fixed = k.map { v -> Int32 in
                let scaled = v * Double(1 << precisionBits)
                return Int32(v < 0 ? (-0.5 + scaled) : (0.5 + scaled))
            }
            return (xmin, fixed)
        }
    }
}
