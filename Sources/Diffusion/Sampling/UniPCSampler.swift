import Foundation
import TensorCore

/// UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of Diffusion
/// Models"): multistep data-prediction predictor–corrector with the B(h) = h (`bh1`) or B(h) = e^h − 1 (`bh2`)
/// variants, as ComfyUI's `sample_unipc` runs it: order min(3, steps − 1), lower orders at the start and the end,
/// no corrector after the final step, the last σ = 0 replaced by 0.001, in float32.
///
/// The solver works in the variance-preserving parameterisation: x_VP = x/√(1 + σ²), α = 1/√(1 + σ²), and the
/// model's denoised estimate is converted to a noise prediction and back exactly as ComfyUI's wrapper does.
enum UniPCSampler {
    enum Variant { case bh1, bh2 }

    static let bh1: SamplingFunction = { denoise, x, sigmas, _, callback in
        try sample(denoise, x, sigmas, variant: .bh1, callback: callback)
    }

    static let bh2: SamplingFunction = { denoise, x, sigmas, _, callback in
        try sample(denoise, x, sigmas, variant: .bh2, callback: callback)
    }

    // The noise schedule in σ (ComfyUI's `SigmaConvert`), float32 with the C library's logf/expf.
    static func logAlpha(_ sigma: Float) -> Float { 0.5 * Foundation.log(1 / ((sigma * sigma) + 1)) }
    static func alpha(_ sigma: Float) -> Float { Foundation.exp(logAlpha(sigma)) }
    static func std(_ sigma: Float) -> Float { (1 - Foundation.exp(2 * logAlpha(sigma))).squareRoot() }
    static func lambda(_ sigma: Float) -> Float {
        let l = logAlpha(sigma)
        return l - 0.5 * Foundation.log(1 - Foundation.exp(2 * l))
    }

    static func sample(_ denoise: DenoiseFunction, _ noise: Tensor, _ sigmas: [Float], variant: Variant,
                       callback: SamplerCallback?) throws -> Tensor {
        guard sigmas.count > 1 else { return noise }
        var timesteps = sigmas
        if timesteps[timesteps.count - 1] == 0 { timesteps[timesteps.count - 1] = 0.001 }
        let total = sigmas.count - 1
        let steps = timesteps.count - 1
        let order = Swift.min(3, timesteps.count - 2)

        /// The data prediction x0 at `t` through ComfyUI's eps round trip.
        func model(_ x: Tensor, _ t: Float) throws -> Tensor {
            let up = ((t * t) + 1).squareRoot()
            let input = LatentMath.map(x) { $0 * up }
            let denoised = try denoise(input, t)
            let sigmaT = std(t)
            let alphaT = alpha(t)
            return LatentMath.zip(x, input, denoised) { x, i, d in
                let eps = (i - d) / t
                return (x - sigmaT * eps) / alphaT
            }
        }

        let start = (1 + timesteps[0] * timesteps[0]).squareRoot()
        var x = LatentMath.map(noise) { $0 / start }
        var models: [Tensor] = []
        var times: [Float] = []
        for stepIndex in 0..<steps {
            if stepIndex == 0 {
                models = [try model(x, timesteps[0])]
                times = [timesteps[0]]
            } else if stepIndex < order {
                let t = timesteps[stepIndex]
                var (next, modelT) = try update(x, models, times, t, order: stepIndex, useCorrector: true,
                                                variant: variant, model: model)
                if modelT == nil { modelT = try model(next, t) }
                x = next
                models.append(modelT!)
                times.append(t)
            } else {
                let extra = stepIndex == steps - 1 ? 1 : 0
                for step in stepIndex...(stepIndex + extra) {
                    let t = timesteps[step]
                    let stepOrder = Swift.min(order, steps + 1 - step)
                    var (next, modelT) = try update(x, models, times, t, order: stepOrder,
                                                    useCorrector: step != steps, variant: variant, model: model)
                    x = next
                    for i in 0..<(order - 1) {
                        times[i] = times[i + 1]
                        models[i] = models[i + 1]
                    }
                    times[times.count - 1] = t
                    if step < steps {
                        if modelT == nil { modelT = try model(x, t) }
                        models[models.count - 1] = modelT!
                    }
                }
            }
            try callback?(stepIndex, total, x, models[models.count - 1])
        }
        let alphaEnd = alpha(timesteps[timesteps.count - 1])
        return LatentMath.map(x) { $0 / alphaEnd }
    }

    /// One UniPC-B(h) update from the last of `times` to `t`: the predictor (UniP) and, unless disabled, the
    /// corrector (UniC) with a fresh model evaluation at `t`, which is returned for reuse.
    static func update(_ x: Tensor, _ models: [Tensor], _ times: [Float], _ t: Float, order: Int,
                       useCorrector: Bool, variant: Variant,
                       model: (Tensor, Float) throws -> Tensor) throws -> (Tensor, Tensor?) {
        precondition(order <= models.count, "UniPC: order \(order) with \(models.count) previous outputs")
        let tPrev = times[times.count - 1]
        let lambdaPrev = lambda(tPrev)
        let lambdaT = lambda(t)
        let modelPrev = models[models.count - 1]
        let sigmaPrev = std(tPrev)
        let sigmaT = std(t)
        let alphaT = Foundation.exp(logAlpha(t))
        let h = lambdaT - lambdaPrev

        var rks: [Float] = []
        var differences: [Tensor] = []
        if order > 1 {
            for i in 1..<order {
                let rk = (lambda(times[times.count - 1 - i]) - lambdaPrev) / h
                rks.append(rk)
                differences.append(LatentMath.zip(models[models.count - 1 - i], modelPrev) { ($0 - $1) / rk })
            }
        }
        rks.append(1)

        let hh = -h
        let hPhi1 = Foundation.expm1(hh)
        var hPhiK = hPhi1 / hh - 1
        let bH: Float = variant == .bh1 ? hh : Foundation.expm1(hh)
        var factorial: Float = 1
        var rows: [[Float]] = []
        var b: [Float] = []
        for i in 1...order {
            rows.append(rks.map { power($0, i - 1) })
            b.append(hPhiK * factorial / bH)
            factorial *= Float(i + 1)
            hPhiK = hPhiK / hh - Float(1 / Double(factorial))
        }

        let usePredictor = !differences.isEmpty
        var rhosP: [Float] = []
        if usePredictor {
            rhosP = order == 2 ? [0.5] : solve(rows, b, size: order - 1)
        }
        var rhosC: [Float] = []
        if useCorrector {
            rhosC = order == 1 ? [0.5] : solve(rows, b, size: order)
        }

        let scaleX = sigmaT / sigmaPrev
        let scaleModel = alphaT * hPhi1
        let base = LatentMath.zip(x, modelPrev) { scaleX * $0 - scaleModel * $1 }
        let step = alphaT * bH
        var xT = base
        if usePredictor {
            let residual = weightedSum(differences, rhosP)
            xT = LatentMath.zip(base, residual) { $0 - step * $1 }
        }
        guard useCorrector else { return (xT, nil) }
        let modelT = try model(xT, t)
        let last = rhosC[rhosC.count - 1]
        if differences.isEmpty {
            xT = LatentMath.zip(base, modelT, modelPrev) { base, m, p in base - step * (0 + last * (m - p)) }
        } else {
            let correction = weightedSum(differences, Array(rhosC.dropLast()))
            xT = LatentMath.zip(base, correction, modelT, modelPrev) { base, c, m, p in
                base - step * (c + last * (m - p))
            }
        }
        return (xT, modelT)
    }

    /// Σ_k w_k·D_k in float32, k ascending.
    private static func weightedSum(_ tensors: [Tensor], _ weights: [Float]) -> Tensor {
        var sum = LatentMath.map(tensors[0]) { weights[0] * $0 }
        for k in 1..<Swift.min(tensors.count, weights.count) {
            let w = weights[k]
            sum = LatentMath.zip(sum, tensors[k]) { $0 + w * $1 }
        }
        return sum
    }

    /// torch.pow for the small integer exponents used here (0 → 1, 1 → x, 2 → x·x).
    private static func power(_ x: Float, _ n: Int) -> Float {
        switch n {
        case 0: return 1
        case 1: return x
        case 2: return x * x
        default: return Foundation.pow(x, Float(n))
        }
    }

    /// Solves the leading `size`×`size` block of `rows`·ρ = b (Gaussian elimination with partial pivoting in
    /// float64, rounded to float32).
    private static func solve(_ rows: [[Float]], _ b: [Float], size n: Int) -> [Float] {
        var a = (0..<n).map { i in (0..<n).map { Double(rows[i][$0]) } }
        var rhs = (0..<n).map { Double(b[$0]) }
        for column in 0..<n {
            var pivot = column
            for r in column..<n where Swift.abs(a[r][column]) > Swift.abs(a[pivot][column]) { pivot = r }
            a.swapAt(column, pivot)
            rhs.swapAt(column, pivot)
            for r in (column + 1)..<n {
                let f = a[r][column] / a[column][column]
                for c in column..<n { a[r][c] -= f * a[column][c] }
                rhs[r] -= f * rhs[column]
            }
        }
        var solution = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = rhs[r]
            for c in (r + 1)..<n { s -= a[r][c] * solution[c] }
            solution[r] = s / a[r][r]
        }
        return solution.map { Float($0) }
    }
}
