#if canImport(Glibc)
import Glibc
#endif

/// How ``CPUEngine/interpolate(_:x:y:planes:inHeight:inWidth:outHeight:outWidth:)`` samples.
public enum InterpolationMode: String, Sendable, CaseIterable {
    /// PyTorch's `mode="nearest"`: source index `floor(dst · in/out)`.
    case nearest
    /// PyTorch's `mode="bilinear", align_corners=False`: half-pixel centres, edge-clamped.
    case bilinear
}

/// Precomputed source indices and weights along one axis.
struct InterpolationAxis {
    var low: [Int]
    var high: [Int]
    var highWeight: [Float]

    /// Follows PyTorch's `area_pixel_compute_source_index` / `nearest_idx` in single precision, with the scale
    /// `in/out` (what `scale_factor=s` gives when `in·s` is an integer).
    init(_ mode: InterpolationMode, input: Int, output: Int) {
        let scale = Float(input) / Float(output)
        low = []; high = []; highWeight = []
        for dst in 0..<output {
            switch mode {
            case .nearest:
                let src = min(Int(floorf(Float(dst) * scale)), input - 1)
                low.append(src); high.append(src); highWeight.append(0)
            case .bilinear:
                let src = max(scale * (Float(dst) + 0.5) - 0.5, 0)
                let i0 = min(Int(src), input - 1)
                low.append(i0)
                high.append(i0 < input - 1 ? i0 + 1 : i0)
                highWeight.append(src - Float(i0))
            }
        }
    }
}

extension CPUEngine {
    /// Resizes `planes` contiguous `inHeight × inWidth` planes (N·C of an NCHW tensor) to `outHeight × outWidth`.
    /// Parallelised over planes.
    public func interpolate(
        _ mode: InterpolationMode, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        planes: Int, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    ) {
        guard planes > 0, outHeight > 0, outWidth > 0 else { return }
        let rowsAxis = InterpolationAxis(mode, input: inHeight, output: outHeight)
        let colsAxis = InterpolationAxis(mode, input: inWidth, output: outWidth)
        let inPlane = inHeight * inWidth, outPlane = outHeight * outWidth
        parallelFor(planes, grain: max(1, 16384 / outPlane)) { range in
            rowsAxis.low.withUnsafeBufferPointer { r0 in rowsAxis.high.withUnsafeBufferPointer { r1 in
            rowsAxis.highWeight.withUnsafeBufferPointer { rw in colsAxis.low.withUnsafeBufferPointer { c0 in
            colsAxis.high.withUnsafeBufferPointer { c1 in colsAxis.highWeight.withUnsafeBufferPointer { cw in
                for plane in range {
                    let src = x + plane * inPlane, dst = y + plane * outPlane
                    for oh in 0..<outHeight {
                        let top = src + r0[oh] * inWidth, bottom = src + r1[oh] * inWidth
                        let out = dst + oh * outWidth
                        if mode == .nearest {
                            for ow in 0..<outWidth { out[ow] = top[c0[ow]] }
                        } else {
                            let wy = rw[oh]
                            for ow in 0..<outWidth {
                                let wx = cw[ow]
                                let t = top[c0[ow]] + (top[c1[ow]] - top[c0[ow]]) * wx
                                let b = bottom[c0[ow]] + (bottom[c1[ow]] - bottom[c0[ow]]) * wx
                                out[ow] = t + (b - t) * wy
                            }
                        }
                    }
                }
            } } } } } }
        }
    }
}

extension KernelReference {
    /// Naive nearest / bilinear (align_corners=false) resize, following PyTorch's formulas in `Double`.
    public static func interpolate(
        _ mode: InterpolationMode, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        planes: Int, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    ) {
        let sh = Double(inHeight) / Double(outHeight), sw = Double(inWidth) / Double(outWidth)
        for p in 0..<planes {
            func at(_ h: Int, _ w: Int) -> Double { Double(x[p * inHeight * inWidth + h * inWidth + w]) }
            for oh in 0..<outHeight {
                for ow in 0..<outWidth {
                    let value: Double
                    if mode == .nearest {
                        // PyTorch computes the nearest index in single precision; so does the spec.
                        let fsh = Float(inHeight) / Float(outHeight), fsw = Float(inWidth) / Float(outWidth)
                        value = at(min(Int(Float(oh) * fsh), inHeight - 1), min(Int(Float(ow) * fsw), inWidth - 1))
                    } else {
                        let fh = max((Double(oh) + 0.5) * sh - 0.5, 0), fw = max((Double(ow) + 0.5) * sw - 0.5, 0)
                        let h0 = min(Int(fh), inHeight - 1), w0 = min(Int(fw), inWidth - 1)
                        let h1 = min(h0 + 1, inHeight - 1), w1 = min(w0 + 1, inWidth - 1)
                        let ly = fh - Double(h0), lx = fw - Double(w0)
                        value = (1 - ly) * ((1 - lx) * at(h0, w0) + lx * at(h0, w1)) + ly * ((1 - lx) * at(h1, w0) + lx * at(h1, w1))
                    }
                    y[(p * outHeight + oh) * outWidth + ow] = Float(value)
                }
            }
        }
    }
}
