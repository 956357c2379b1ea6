/// `torch.linspace` on the CPU, reproduced element for element.
///
/// torch computes `step = (end - start) / (steps - 1)` in the output dtype and fills the first half as
/// `start + step·i` and the second half as `end - step·(steps - 1 - i)`. Its vectorised loop (AVX2: 8 floats or
/// 4 doubles per vector, two vectors per iteration) instead writes each vector as `base + k·step` with `base` the
/// formula's value at the vector's first index, and the half is chosen once per vector; a tail shorter than two
/// vectors goes through the scalar formula. Schedules built from a float32 linspace (the `normal`, `karras`,
/// `exponential` schedulers, the beta table) depend on these roundings.
enum TorchLinspace {
    /// `torch.linspace(start, end, steps)` in float32.
    static func float32(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        fill(start, end, steps, lanes: 8)
    }

    /// `torch.linspace(start, end, steps, dtype=torch.float64)`.
    static func float64(_ start: Double, _ end: Double, _ steps: Int) -> [Double] {
        fill(start, end, steps, lanes: 4)
    }

    private static func fill<T: BinaryFloatingPoint>(_ start: T, _ end: T, _ steps: Int, lanes: Int) -> [T] {
        precondition(steps >= 0, "linspace: negative steps")
        if steps == 0 { return [] }
        if steps == 1 { return [start] }
        let step = (end - start) / T(steps - 1)
        let halfway = steps / 2
        func scalar(_ i: Int) -> T {
            i < halfway ? start + step * T(i) : end - step * T(steps - i - 1)
        }
        var out = [T](repeating: 0, count: steps)
        var i = 0
        // Two vectors per iteration while at least two full vectors remain.
        while i + 2 * lanes <= steps {
            for v in 0..<2 {
                let first = i + v * lanes
                let base = scalar(first)
                for k in 0..<lanes { out[first + k] = base + T(k) * step }
            }
            i += 2 * lanes
        }
        while i < steps {
            out[i] = scalar(i)
            i += 1
        }
        return out
    }
}
