import TensorCore

/// Runs a resolution-changing function (a VAE decoder or encoder, an upscaler) over overlapping tiles of
/// `[B, C, H, W]` and blends the tiles with feathered weights: ComfyUI's `tiled_scale` /
/// `tiled_scale_multidim` for two spatial dimensions, with the same tile placement, masks and arithmetic.
///
/// Placement, per spatial dimension of size `n`: one tile at 0 when `n ≤ tile`; otherwise tiles start at
/// `0, tile − overlap, 2(tile − overlap), …` below `n − overlap`, each clamped to `n − overlap` and cut at
/// `n`. A tile's output goes to `round(start · factor)`. Its weight mask ramps linearly over
/// `feather = round(overlap · factor)` output elements at both ends of each dimension (`(t + 1)/feather` for
/// the t-th element from an edge; no ramp when the tile is not longer than `feather`); the result is
/// `Σ output · mask / Σ mask`. When the whole image fits in one tile the function's output is returned as is.
/// Rounding is Python's (half to even).
public enum TiledScale {
    /// Tiles the batch items of `samples` one at a time.
    ///
    /// - Parameters:
    ///   - samples: `[B, C, H, W]`.
    ///   - tile: tile size (height, width) in input elements.
    ///   - overlap: overlap between neighbouring tiles in input elements; must be smaller than both tile sizes
    ///     when the input is larger than a tile.
    ///   - factor: output size per input element (8 for a VAE decoder, 1/8 for its encoder).
    ///   - outChannels: channels of the function's output.
    ///   - function: maps a `[1, C, h, w]` view to `[1, outChannels, h', w']` with `h' ≈ h · factor`.
    /// - Returns: float32 `[B, outChannels, round(H · factor), round(W · factor)]`.
    public static func apply(_ samples: Tensor, tile: (height: Int, width: Int), overlap: Int, factor: Double,
                             outChannels: Int, function: (Tensor) -> Tensor) -> Tensor {
        precondition(samples.rank == 4, "TiledScale: input \(samples.shape) is not [B, C, H, W]")
        let (height, width) = (samples.shape[2], samples.shape[3])
        let outHeight = scaled(height, factor), outWidth = scaled(width, factor)
        var items: [Tensor] = []
        for b in 0..<samples.shape[0] {
            let s = samples.narrowed(dim: 0, start: b, length: 1)
            if height <= tile.height && width <= tile.width {
                items.append(function(s).contiguous(as: .float32))
                continue
            }
            var accumulator = Accumulator(channels: outChannels, height: outHeight, width: outWidth)
            for y in starts(size: height, tile: tile.height, overlap: overlap) {
                for x in starts(size: width, tile: tile.width, overlap: overlap) {
                    let piece = s.narrowed(dim: 2, start: y, length: min(tile.height, height - y))
                        .narrowed(dim: 3, start: x, length: min(tile.width, width - x))
                    let output = function(piece)
                    precondition(output.rank == 4 && output.shape[0] == 1 && output.shape[1] == outChannels,
                                 "TiledScale: tile output \(output.shape) for \(outChannels) channels")
                    accumulator.add(output, top: scaled(y, factor), left: scaled(x, factor),
                                    feather: scaled(overlap, factor))
                }
            }
            items.append(accumulator.result())
        }
        return items.count == 1 ? items[0] : Tensor.concatenated(items, dim: 0)
    }

    /// Tile start positions along one dimension (already clamped to `size − overlap`).
    static func starts(size: Int, tile: Int, overlap: Int) -> [Int] {
        guard size > tile else { return [0] }
        precondition(tile > overlap && overlap >= 0, "TiledScale: overlap \(overlap) does not fit tiles of \(tile)")
        return stride(from: 0, to: size - overlap, by: tile - overlap).map { max(0, min(size - overlap, $0)) }
    }

    /// `round(value · factor)`, half to even as Python's `round`.
    static func scaled(_ value: Int, _ factor: Double) -> Int {
        Int((Double(value) * factor).rounded(.toNearestOrEven))
    }

    /// The multipliers applied, in order, to each element of a tile dimension of `length` by the feathering
    /// loop: element `t` from either edge is multiplied by `(t + 1)/feather` (in float32).
    static func featherFactors(length: Int, feather: Int) -> [[Float]] {
        var factors = [[Float]](repeating: [], count: length)
        guard feather < length else { return factors }
        for t in 0..<feather {
            let a = Float(Double(t + 1) / Double(feather))
            factors[t].append(a)
            factors[length - 1 - t].append(a)
        }
        return factors
    }

    /// Weighted sums of tile outputs and of their masks for one batch item.
    struct Accumulator {
        let channels: Int, height: Int, width: Int
        var sum: [Float]
        var weight: [Float]

        init(channels: Int, height: Int, width: Int) {
            (self.channels, self.height, self.width) = (channels, height, width)
            sum = [Float](repeating: 0, count: channels * height * width)
            weight = [Float](repeating: 0, count: height * width)
        }

        /// Adds `output[1, C, h, w]` at (`top`, `left`) with its feathered mask (parts outside are dropped).
        mutating func add(_ output: Tensor, top: Int, left: Int, feather: Int) {
            let (h, w) = (output.shape[2], output.shape[3])
            let rowFactors = TiledScale.featherFactors(length: h, feather: feather)
            let columnFactors = TiledScale.featherFactors(length: w, feather: feather)
            // The mask as torch builds it: ones, scaled along the height, then along the width.
            var mask = [Float](repeating: 1, count: h * w)
            for i in 0..<h {
                for j in 0..<w {
                    var m: Float = 1
                    for a in rowFactors[i] { m *= a }
                    for a in columnFactors[j] { m *= a }
                    mask[i * w + j] = m
                }
            }
            let rows = max(0, min(h, height - top)), columns = max(0, min(w, width - left))
            let plane = height * width
            output.withFloats { values in
                for c in 0..<channels {
                    for i in 0..<rows {
                        let source = (c * h + i) * w
                        let target = c * plane + (top + i) * width + left
                        for j in 0..<columns { sum[target + j] += values[source + j] * mask[i * w + j] }
                    }
                }
            }
            for i in 0..<rows {
                for j in 0..<columns { weight[(top + i) * width + left + j] += mask[i * w + j] }
            }
        }

        /// `sum / weight` as `[1, C, H, W]`.
        func result() -> Tensor {
            let plane = height * width
            var values = [Float](repeating: 0, count: sum.count)
            for c in 0..<channels {
                for p in 0..<plane { values[c * plane + p] = sum[c * plane + p] / weight[p] }
            }
            return Tensor(shape: [1, channels, height, width], scalars: values)
        }
    }
}
