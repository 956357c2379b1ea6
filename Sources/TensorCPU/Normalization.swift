/// Group normalisation (Wu & He, "Group Normalization", 2018) and layer normalisation (Ba, Kiros & Hinton,
/// "Layer Normalization", 2016), hand-written with SIMD loops (oneDNN 2.6 has no group norm primitive).
extension CPUEngine {
    /// Group normalisation over `[N, C, spatial...]`: each of the `groups` channel groups of each sample is
    /// normalised by its mean and biased variance, then scaled per channel: `y = (x - μ) / √(σ² + eps) · γ[c] + β[c]`.
    ///
    /// Parallelised over N × groups. `x` and `y` may be the same buffer.
    ///
    /// - Parameters:
    ///   - spatial: the product of the spatial dimensions (H·W, or D·H·W).
    ///   - gamma, beta: `channels` values each, or `nil` for γ = 1, β = 0.
    public func groupNorm(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, spatial: Int,
        groups: Int, eps: Float, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?
    ) {
        precondition(groups >= 1 && channels % groups == 0, "groupNorm: channels must divide into groups")
        let perGroup = channels / groups
        let blockCount = perGroup * spatial
        guard blockCount > 0 else { return }
        parallelFor(batch * groups, grain: max(1, 8192 / blockCount)) { range in
            for item in range {
                let base = item * blockCount
                let mean = VectorLoops.sum(x + base, blockCount) / Double(blockCount)
                let variance = VectorLoops.squaredDeviation(x + base, blockCount, mean: Float(mean)) / Double(blockCount)
                let rstd = 1 / (variance + Double(eps)).squareRoot()
                let firstChannel = (item % groups) * perGroup
                for cg in 0..<perGroup {
                    let c = firstChannel + cg
                    let scale = rstd * Double(gamma?[c] ?? 1)
                    let shift = Double(beta?[c] ?? 0) - mean * scale
                    let offset = base + cg * spatial
                    VectorLoops.affine(x + offset, y + offset, spatial, scale: Float(scale), shift: Float(shift))
                }
            }
        }
    }

    /// Layer normalisation over the last dimension of a `[rows, dim]` buffer:
    /// `y = (x - μ) / √(σ² + eps) · γ + β` with per-row biased statistics. `x` and `y` may be the same buffer.
    ///
    /// - Parameters:
    ///   - gamma, beta: `dim` values each, or `nil` for γ = 1, β = 0.
    public func layerNorm(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float,
        gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?
    ) {
        guard dim > 0 else { return }
        parallelFor(rows, grain: max(1, 8192 / dim)) { range in
            for row in range {
                let xr = x + row * dim, yr = y + row * dim
                let mean = VectorLoops.sum(xr, dim) / Double(dim)
                let variance = VectorLoops.squaredDeviation(xr, dim, mean: Float(mean)) / Double(dim)
                let rstd = Float(1 / (variance + Double(eps)).squareRoot())
                VectorLoops.affine(xr, yr, dim, scale: rstd, shift: Float(-mean) * rstd)
                if gamma != nil || beta != nil {
                    var i = 0
                    if let gamma, let beta {
                        while i + 8 <= dim {
                            VectorLoops.store(
                                VectorLoops.load(yr + i) * VectorLoops.load(gamma + i) + VectorLoops.load(beta + i), yr + i)
                            i += 8
                        }
                    }
                    while i < dim { yr[i] = yr[i] * (gamma?[i] ?? 1) + (beta?[i] ?? 0); i += 1 }
                }
            }
        }
    }
}

extension KernelReference {
    /// Naive group normalisation, statistics in `Double`.
    public static func groupNorm(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, spatial: Int,
        groups: Int, eps: Float, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?
    ) {
        let perGroup = channels / groups, count = perGroup * spatial
        for n in 0..<batch {
            for g in 0..<groups {
                let base = (n * channels + g * perGroup) * spatial
                var mean = 0.0
                for i in 0..<count { mean += Double(x[base + i]) }
                mean /= Double(count)
                var variance = 0.0
                for i in 0..<count { variance += (Double(x[base + i]) - mean) * (Double(x[base + i]) - mean) }
                variance /= Double(count)
                for i in 0..<count {
                    let c = g * perGroup + i / spatial
                    let normalised = (Double(x[base + i]) - mean) / (variance + Double(eps)).squareRoot()
                    y[base + i] = Float(normalised * Double(gamma?[c] ?? 1) + Double(beta?[c] ?? 0))
                }
            }
        }
    }

    /// Naive layer normalisation over the last dimension.
    public static func layerNorm(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float,
        gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?
    ) {
        for r in 0..<rows {
            let xr = x + r * dim, yr = y + r * dim
            var mean = 0.0
            for i in 0..<dim { mean += Double(xr[i]) }
            mean /= Double(dim)
            var variance = 0.0
            for i in 0..<dim { variance += (Double(xr[i]) - mean) * (Double(xr[i]) - mean) }
            variance /= Double(dim)
            for i in 0..<dim {
                let normalised = (Double(xr[i]) - mean) / (variance + Double(eps)).squareRoot()
                yr[i] = Float(normalised * Double(gamma?[i] ?? 1) + Double(beta?[i] ?? 0))
            }
        }
    }
}
