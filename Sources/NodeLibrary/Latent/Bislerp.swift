import Foundation
import MediaIO
import TensorCore

/// ComfyUI's `bislerp` latent resize: bilinear in position, but each pair of neighbouring channel vectors is
/// blended by spherical interpolation of their directions and linear interpolation of their norms (first
/// along the width, then along the height).
enum Bislerp {
    /// Resizes `[N, C, H, W]` to `width × height` (after `common_upscale`'s optional center crop).
    static func resize(_ samples: Tensor, width: Int, height: Int, crop: ImageResampler.Crop) -> Tensor {
        var source = samples.contiguous()
        if crop == .center {
            let oldW = source.shape[3], oldH = source.shape[2]
            let oldAspect = Double(oldW) / Double(oldH), newAspect = Double(width) / Double(height)
            var x = 0, y = 0
            if oldAspect > newAspect {
                x = Int(((Double(oldW) - Double(oldW) * (newAspect / oldAspect)) / 2).rounded(.toNearestOrEven))
            } else if oldAspect < newAspect {
                y = Int(((Double(oldH) - Double(oldH) * (oldAspect / newAspect)) / 2).rounded(.toNearestOrEven))
            }
            source = source.narrowed(dim: 2, start: y, length: oldH - 2 * y).narrowed(dim: 3, start: x, length: oldW - 2 * x)
                .contiguous(forceCopy: true)
        }
        let rows = pass(source, along: 3, to: width)
        return pass(rows, along: 2, to: height)
    }

    /// PyTorch's bilinear (align_corners=False) sampling positions of `arange(old)` at `new` points:
    /// the two source indices and the blend ratio, as ComfyUI derives them.
    static func positions(old: Int, new: Int) -> [(Int, Int, Float)] {
        let scale = Float(old) / Float(new)
        return (0..<new).map { j in
            func sample(_ values: (Int) -> Float) -> Float {
                let src = max(scale * (Float(j) + 0.5) - 0.5, 0)
                let i0 = min(Int(src), old - 1)
                let i1 = min(i0 + 1, old - 1)
                let l1 = src - Float(i0)
                return values(i0) * (1 - l1) + values(i1) * l1
            }
            let c1 = sample { Float($0) }
            let c2 = sample { $0 == old - 1 ? Float($0) : Float($0 + 1) }
            return (Int(c1), Int(c2), c1 - c1.rounded(.down))
        }
    }

    /// One 1-D pass over dimension `dim` (2 = height, 3 = width) of a contiguous `[N, C, H, W]`.
    static func pass(_ x: Tensor, along dim: Int, to length: Int) -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        let old = x.shape[dim]
        let table = positions(old: old, new: length)
        let outH = dim == 2 ? length : h, outW = dim == 3 ? length : w
        var out = [Float](repeating: 0, count: n * c * outH * outW)
        let input = x.scalars
        var a = [Float](repeating: 0, count: c), b = [Float](repeating: 0, count: c), r = [Float](repeating: 0, count: c)
        for item in 0..<n {
            for y in 0..<outH {
                for xx in 0..<outW {
                    let (i1, i2, ratio) = table[dim == 2 ? y : xx]
                    for ch in 0..<c {
                        let base = (item * c + ch) * h * w
                        a[ch] = dim == 2 ? input[base + i1 * w + xx] : input[base + y * w + i1]
                        b[ch] = dim == 2 ? input[base + i2 * w + xx] : input[base + y * w + i2]
                    }
                    slerp(a, b, ratio, into: &r)
                    for ch in 0..<c { out[((item * c + ch) * outH + y) * outW + xx] = r[ch] }
                }
            }
        }
        return Tensor(shape: [n, c, outH, outW], scalars: out)
    }

    /// ComfyUI's `slerp` of two channel vectors with ratio `t`.
    static func slerp(_ a: [Float], _ b: [Float], _ t: Float, into result: inout [Float]) {
        let c = a.count
        let na = sqrt(a.reduce(0) { $0 + $1 * $1 }), nb = sqrt(b.reduce(0) { $0 + $1 * $1 })
        var dot: Float = 0
        for i in 0..<c {
            let ua = na == 0 ? 0 : a[i] / na, ub = nb == 0 ? 0 : b[i] / nb
            dot += ua * ub
        }
        if dot > 1 - 1e-5 {
            for i in 0..<c { result[i] = a[i] }
            return
        }
        if dot < 1e-5 - 1 {
            for i in 0..<c { result[i] = a[i] * (1 - t) + b[i] * t }
            return
        }
        let omega = acos(dot), so = sin(omega)
        let wa = sin((1 - t) * omega) / so, wb = sin(t * omega) / so
        let norm = na * (1 - t) + nb * t
        for i in 0..<c {
            let ua = na == 0 ? 0 : a[i] / na, ub = nb == 0 ? 0 : b[i] / nb
            result[i] = (wa * ua + wb * ub) * norm
        }
    }
}
