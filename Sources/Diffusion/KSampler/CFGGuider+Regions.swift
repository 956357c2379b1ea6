import Foundation
import TensorCore

/// A conditioning entry as one sampling run uses it: ComfyUI's `process_conds` has resolved its area (percentages
/// to latent cells, a mask's bounding box), resized its mask to the latent and turned its timestep range into σ.
struct RegionalEntry {
    var entry: Conditioning.Entry
    /// `(height, width, y, x)` in latent cells, before clamping to the latent.
    var area: [Int]?
    /// `[Bm, H, W]` at the latent's size.
    var mask: Tensor?
    var sigmaStart: Float?
    var sigmaEnd: Float?
}

/// One entry's part of a step (ComfyUI's `get_area_and_mult`).
struct RegionalRun {
    var entry: Conditioning.Entry
    var positive: Bool
    /// The clamped `(height, width, y, x)`, or nil for the whole latent.
    var area: [Int]?
    /// The weight of the entry's prediction, the shape of its input (`[B, C, h, w]`), dense.
    var mult: [Float]
}

extension CFGGuider {
    /// ComfyUI's `process_conds` for the positive and negative sides of a latent of `height × width` cells:
    /// areas and masks resolved, timestep ranges as σ, and for every entry with an area an entry with the same area
    /// added to the other side when it has none (`create_cond_with_same_area_if_none`), carrying the other side's
    /// conditioning.
    static func resolveRegions(_ sides: [Conditioning], height: Int, width: Int, sampling: ModelSampling,
                               backend: any Backend) -> [[RegionalEntry]] {
        var resolved = sides.map { side in
            side.entries.map { resolve($0, height: height, width: width, sampling: sampling, backend: backend) }
        }
        for k in resolved.indices {
            var i = 0
            while i < resolved[k].count {
                let c = resolved[k][i]
                for kk in resolved.indices where kk != k { addSameArea(to: &resolved[kk], for: c) }
                i += 1
            }
        }
        return resolved
    }

    private static func resolve(_ entry: Conditioning.Entry, height: Int, width: Int, sampling: ModelSampling,
                                backend: any Backend) -> RegionalEntry {
        var out = RegionalEntry(entry: entry)
        switch entry.area {
        case .latent(let h, let w, let y, let x)?:
            out.area = [h, w, y, x]
        case .percentage(let h, let w, let y, let x)?:
            // Python's round(): half to even.
            func scaled(_ f: Double, _ size: Int) -> Int { Int((f * Double(size)).rounded(.toNearestOrEven)) }
            out.area = [max(1, scaled(h, height)), max(1, scaled(w, width)), scaled(y, height), scaled(x, width)]
        case nil:
            break
        }
        if var mask = entry.mask {
            mask = mask.contiguous(as: .float32)
            if mask.rank == 2 { mask = mask.reshaped([1] + mask.shape) }
            let batch = mask.shape[0]
            if Array(mask.shape.suffix(2)) != [height, width] {
                let planes = mask.reshaped([batch, 1, mask.shape[1], mask.shape[2]])
                mask = backend.contiguous(backend.interpolate(planes, size: (height, width), mode: .bilinear))
                    .reshaped([batch, height, width])
            }
            if entry.setAreaToBounds {
                // The bounding box of the non-zero cells over the whole mask batch, at least 8×8 cells.
                let values = mask.scalars
                var top = Int.max, left = Int.max, bottom = -1, right = -1
                for b in 0..<batch {
                    for yy in 0..<height {
                        for xx in 0..<width where values[(b * height + yy) * width + xx] != 0 {
                            top = min(top, yy); bottom = max(bottom, yy); left = min(left, xx); right = max(right, xx)
                        }
                    }
                }
                out.area = bottom < 0 ? [8, 8, 0, 0] : [max(8, bottom - top + 1), max(8, right - left + 1), top, left]
            }
            out.mask = mask
        }
        if let start = entry.startPercent { out.sigmaStart = Float(sampling.percentToSigma(start)) }
        if let end = entry.endPercent { out.sigmaEnd = Float(sampling.percentToSigma(end)) }
        return out
    }

    /// `create_cond_with_same_area_if_none`: unless `side` already has an entry with `c`'s area, adds a copy of `c`
    /// (its area, mask, strength and range) carrying the conditioning of the smallest entry of `side` whose area
    /// contains `c`'s (or else of its first entry without an area).
    private static func addSameArea(to side: inout [RegionalEntry], for c: RegionalEntry) {
        guard let area = c.area else { return }
        func inside(_ a: [Int], _ outer: [Int]) -> Bool {
            for i in 0..<2 where a[2 + i] < outer[2 + i] { return false }
            for i in 0..<2 where a[i] + a[2 + i] > outer[i] + outer[2 + i] { return false }
            return true
        }
        var smallest: RegionalEntry?
        for x in side {
            if let a = x.area {
                guard inside(area, a) else { continue }
                if let current = smallest, let currentArea = current.area {
                    if currentArea[0] * currentArea[1] > a[0] * a[1] { smallest = x }
                } else {
                    smallest = x
                }
            } else if smallest == nil {
                smallest = x
            }
        }
        guard let smallest else { return }
        if smallest.area == area { return }
        var copy = c
        copy.entry.cond = smallest.entry.cond
        copy.entry.pooled = smallest.entry.pooled
        copy.entry.concatLatentImage = smallest.entry.concatLatentImage
        copy.entry.video = smallest.entry.video
        side.append(copy)
    }

    /// `get_area_and_mult` at σ for the latent shape `shape` (`[B, C, H, W]`): nil when σ is outside the entry's
    /// range or its area lies outside the latent.
    static func run(_ r: RegionalEntry, positive: Bool, sigma: Float, shape: [Int]) -> RegionalRun? {
        if let start = r.sigmaStart, sigma > start { return nil }
        if let end = r.sigmaEnd, sigma < end { return nil }
        let (batch, channels) = (shape[0], shape[1])
        var area = r.area
        if var a = area {
            for i in 0..<2 { a[i] = min(shape[2 + i] - a[2 + i], a[i]) }
            guard a[0] > 0, a[1] > 0, a[2] >= 0, a[3] >= 0 else { return nil }
            area = a
        }
        let (h, w, y0, x0) = area.map { ($0[0], $0[1], $0[2], $0[3]) } ?? (shape[2], shape[3], 0, 0)
        let plane = h * w
        var mult = [Float](repeating: r.entry.strength, count: batch * channels * plane)
        if let mask = r.mask {
            let values = mask.scalars
            let (maskBatch, maskHeight, maskWidth) = (min(mask.shape[0], batch), mask.shape[1], mask.shape[2])
            for b in 0..<batch {
                let source = b % maskBatch
                for yy in 0..<h {
                    for xx in 0..<w {
                        let m = values[(source * maskHeight + y0 + yy) * maskWidth + x0 + xx] * r.entry.maskStrength
                        let value = m * r.entry.strength
                        for c in 0..<channels { mult[((b * channels + c) * h + yy) * w + xx] = value }
                    }
                }
            }
        } else if let a = area {
            // Feather the edges that are inside the latent over up to 8 cells.
            let extents = [h, w]
            for i in 0..<2 {
                let rr = min(8, extents[i] / 4)
                func scale(_ index: Int, by factor: Float) {
                    for bc in 0..<(batch * channels) {
                        if i == 0 {
                            for xx in 0..<w { mult[(bc * h + index) * w + xx] *= factor }
                        } else {
                            for yy in 0..<h { mult[(bc * h + yy) * w + index] *= factor }
                        }
                    }
                }
                if a[2 + i] != 0 {
                    for t in 0..<rr { scale(t, by: Float((1.0 / Double(rr)) * Double(t + 1))) }
                }
                if a[i] + a[2 + i] < shape[2 + i] {
                    for t in 0..<rr { scale(a[i] - 1 - t, by: Float((1.0 / Double(rr)) * Double(t + 1))) }
                }
            }
        }
        return RegionalRun(entry: r.entry, positive: positive, area: area, mult: mult)
    }

    /// `x`'s `(height, width, y, x)` window, dense (`x` itself for the whole latent).
    static func crop(_ x: Tensor, _ area: [Int]?) -> Tensor {
        guard let a = area else { return x }
        return x.narrowed(dim: 2, start: a[2], length: a[0]).narrowed(dim: 3, start: a[3], length: a[1]).contiguous()
    }

    /// The denoiser with ComfyUI's full `_calc_cond_batch`: entries run on their area of the latent, weighted by
    /// their strength, mask or feathered edges, and each side is `Σ denoised·mult / (1e-37 + Σ mult)` per position.
    func denoiseRegional(_ x: Tensor, sigma: Float) -> Tensor {
        let shape = x.shape
        let sides = Self.resolveRegions([positive, negative], height: shape[2], width: shape[3], sampling: sampling,
                                        backend: backend)
        var runs: [RegionalRun] = sides[0].compactMap { Self.run($0, positive: true, sigma: sigma, shape: shape) }
        if !skipsNegative { runs += sides[1].compactMap { Self.run($0, positive: false, sigma: sigma, shape: shape) } }
        runs.reverse()

        let count = x.count
        var sums = [[Float](repeating: 0, count: count), [Float](repeating: 0, count: count)]
        var weights = [[Float](repeating: 1e-37, count: count), [Float](repeating: 1e-37, count: count)]
        let timestep = sampling.timestep(sigma)
        var start = 0
        while start < runs.count {
            var end = start + 1
            while end < runs.count, runs[end].area == runs[start].area,
                  network.canBatch(runs[end].entry, with: runs[start..<end].map(\.entry)) { end += 1 }
            let group = Array(runs[start..<end])
            let input = Self.crop(x, group[0].area)
            let entries = group.map { run -> Conditioning.Entry in
                var entry = run.entry
                if let area = run.area, let concat = entry.concatLatentImage {
                    // A concatenated latent is sized to the whole latent, then cut to the area (`process_cond`).
                    let full = SVDConditioning.concatLatent(concat, noiseShape: shape, backend: backend)
                    entry.concatLatentImage = Self.crop(full, area)
                }
                return entry
            }
            let output = network.output(sampling.calculateInput(sigma: sigma, input), timestep: timestep, group: entries,
                                        backend: backend)
            let denoised = sampling.calculateDenoised(
                sigma: sigma, output: output,
                input: group.count == 1 ? input : Tensor.concatenated([Tensor](repeating: input, count: group.count), dim: 0))
            let values = backend.contiguous(denoised).scalars
            let (batch, channels) = (shape[0], shape[1])
            let (h, w, y0, x0) = group[0].area.map { ($0[0], $0[1], $0[2], $0[3]) } ?? (shape[2], shape[3], 0, 0)
            let chunk = batch * channels * h * w
            for (i, run) in group.enumerated() {
                let side = run.positive ? 0 : 1
                for bc in 0..<(batch * channels) {
                    for yy in 0..<h {
                        for xx in 0..<w {
                            let local = (bc * h + yy) * w + xx
                            let target = (bc * shape[2] + y0 + yy) * shape[3] + x0 + xx
                            sums[side][target] += values[i * chunk + local] * run.mult[local]
                            weights[side][target] += run.mult[local]
                        }
                    }
                }
            }
            start = end
        }
        let cond = Tensor(shape: shape, scalars: zip(sums[0], weights[0]).map { $0 / $1 })
        let uncond = Tensor(shape: shape, scalars: zip(sums[1], weights[1]).map { $0 / $1 })
        return combine(x: x, cond: cond, uncond: uncond)
    }
}
