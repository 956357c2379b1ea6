/// Separable bicubic resampling with an antialiasing filter, as PyTorch's
/// `F.interpolate(mode="bicubic", antialias=True, align_corners=False)` computes it on float32.
///
/// The filter is Keys' cubic convolution kernel with `a = −0.5` (R. Keys, "Cubic Convolution
/// Interpolation for Digital Image Processing", 1981), the kernel Pillow's BICUBIC filter uses. When an
/// axis shrinks by `scale = in/out > 1` the kernel is stretched by `scale` (support `2·scale` input
/// pixels) so that it low-passes; when it grows the support stays 2. For each output index the taps
/// are the input pixels whose centres fall within the support around `scale·(i + 0.5)`, clipped to
/// the image, with weights normalised to sum to one. Width is resampled first, then height; an axis
/// whose size does not change is left alone. Weights and sums are float32, evaluated in the same
/// order and precision as PyTorch so that results agree bit for bit.
enum AntialiasedBicubic {
    /// The taps of one axis: output `i` reads `count[i]` inputs from `start[i]` with
    /// `weights[i * width ..< i * width + count[i]]`.
    struct Taps {
        var start: [Int]
        var count: [Int]
        var weights: [Float]
        /// Weights stored per output index.
        var width: Int
    }

    /// Keys' cubic kernel with `a = −0.5`, in float32.
    static func kernel(_ x: Float) -> Float {
        let a: Float = -0.5
        let x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return 0
    }

    /// The taps for resampling an axis of `input` samples to `output` samples.
    static func taps(input: Int, output: Int) -> Taps {
        let scale = Float(input) / Float(output)
        let support: Float = scale >= 1 ? Float(2.0 * Double(scale)) : 2
        let width = Int(support.rounded(.up)) * 2 + 1
        let inverse: Float = scale >= 1 ? Float(1.0 / Double(scale)) : 1
        var taps = Taps(start: [], count: [], weights: [Float](repeating: 0, count: output * width), width: width)
        taps.start.reserveCapacity(output)
        taps.count.reserveCapacity(output)
        for i in 0..<output {
            let center = Float(Double(scale) * (Double(i) + 0.5))
            let low = max(Int(Double(center - support) + 0.5), 0)
            let high = min(Int(Double(center + support) + 0.5), input)
            let count = min(max(high - low, 0), width)
            var total: Float = 0
            for j in 0..<count {
                let offset = Double(Float(j + low) - center) + 0.5
                let w = kernel(Float(offset * Double(inverse)))
                taps.weights[i * width + j] = w
                total += w
            }
            if total != 0 {
                for j in 0..<count { taps.weights[i * width + j] /= total }
            }
            taps.start.append(low)
            taps.count.append(count)
        }
        return taps
    }

    /// Resamples `planes` images of `height × width` floats (row-major, one after another) to
    /// `outHeight × outWidth`.
    static func resample(_ values: [Float], planes: Int, height: Int, width: Int,
                         outHeight: Int, outWidth: Int) -> [Float] {
        var current = values
        var currentWidth = width
        if outWidth != width {
            let t = taps(input: width, output: outWidth)
            var out = [Float](repeating: 0, count: planes * height * outWidth)
            current.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for row in 0..<(planes * height) {
                        let s = row * width, d = row * outWidth
                        for x in 0..<outWidth {
                            let w = x * t.width, first = t.start[x]
                            var sum = src[s + first] * t.weights[w]
                            for j in 1..<max(t.count[x], 1) { sum += src[s + first + j] * t.weights[w + j] }
                            dst[d + x] = sum
                        }
                    }
                }
            }
            current = out
            currentWidth = outWidth
        }
        if outHeight != height {
            let t = taps(input: height, output: outHeight)
            var out = [Float](repeating: 0, count: planes * outHeight * currentWidth)
            current.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for plane in 0..<planes {
                        let s = plane * height * currentWidth, d = plane * outHeight * currentWidth
                        for y in 0..<outHeight {
                            let w = y * t.width, first = t.start[y]
                            for x in 0..<currentWidth {
                                var sum = src[s + first * currentWidth + x] * t.weights[w]
                                for j in 1..<max(t.count[y], 1) {
                                    sum += src[s + (first + j) * currentWidth + x] * t.weights[w + j]
                                }
                                dst[d + y * currentWidth + x] = sum
                            }
                        }
                    }
                }
            }
            current = out
        }
        return current
    }
}
