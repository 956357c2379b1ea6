import TensorCore

/// Channels-last activations: an `[N, C, H, W]` tensor whose memory is `[N, H, W, C]` (strides `[H·W·C, 1, W·C, C]`),
/// PyTorch's `channels_last` memory format. Convolutions on oneDNN's brgemm kernels read and write this layout
/// directly, so a chain of convolutions, normalisations and elementwise ops that keeps it saves the two layout
/// transposes around every convolution (on a VAE decoder's 512² maps those transposes cost as much as the faster
/// kernel gains). ``CPUBackend/channelsLast(_:)`` enters the layout; convolutions, group norms, elementwise ops and
/// nearest upsampling keep it; every other op reads it through ``CPUBackend/dense(_:)``, which transposes back.
extension CPUBackend {
    /// `x` as a channels-last view with the same values (a 4-d float32 map; anything else is returned as is).
    public func channelsLast(_ x: Tensor) -> Tensor {
        guard x.rank == 4, x.count > 0, !Self.isChannelsLast(x) else { return x }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let input = Self.dense(x)
        let out = Self.channelsLastTensor(batch: n, channels: c, height: h, width: w)
        withExtendedLifetime((input, out)) {
            engine.toChannelsLast(Self.pointer(input), out.baseAddress, batch: n, channels: c, pixels: h * w,
                                  bfloat16: false)
        }
        return out
    }

    /// Whether `t` is a float32 `[N, C, H, W]` laid out channels-last (and more than one channel, where the two
    /// layouts differ).
    static func isChannelsLast(_ t: Tensor) -> Bool {
        guard t.rank == 4, t.dtype == .float32 else { return false }
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        guard c > 1 else { return false }
        return t.strides[1] == 1 && (w == 1 || t.strides[3] == c) && (h == 1 || t.strides[2] == w * c)
            && (t.shape[0] == 1 || t.strides[0] == h * w * c)
    }

    /// A new uninitialised channels-last `[N, C, H, W]` float32 tensor.
    static func channelsLastTensor(batch: Int, channels: Int, height: Int, width: Int) -> Tensor {
        let storage = TensorStorage(uninitializedByteCount: batch * channels * height * width * 4)
        return Tensor(storage: storage, dtype: .float32, shape: [batch, channels, height, width],
                      strides: [height * width * channels, 1, width * channels, channels])
    }

    /// Group normalisation of a channels-last map, the result channels-last.
    func groupNormChannelsLast(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let gamma = weight.map(Self.dense), beta = bias.map(Self.dense)
        let out = Self.channelsLastTensor(batch: n, channels: c, height: h, width: w)
        withExtendedLifetime((x, gamma, beta, out)) {
            engine.groupNormChannelsLast(x: Self.pointer(x), y: Self.pointer(out), batch: n, channels: c,
                                         pixels: h * w, groups: groups, eps: epsilon,
                                         gamma: gamma.map { UnsafePointer(Self.pointer($0)) },
                                         beta: beta.map { UnsafePointer(Self.pointer($0)) })
        }
        return out
    }

    /// Nearest-neighbour resize of a channels-last map (whole pixels copied), the result channels-last.
    func interpolateNearestChannelsLast(_ x: Tensor, height outHeight: Int, width outWidth: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let out = Self.channelsLastTensor(batch: n, channels: c, height: outHeight, width: outWidth)
        withExtendedLifetime((x, out)) {
            engine.interpolateNearestChannelsLast(x: Self.pointer(x), y: Self.pointer(out), batch: n, channels: c,
                                                  inHeight: h, inWidth: w, outHeight: outHeight, outWidth: outWidth)
        }
        return out
    }
}

extension CPUEngine {
    /// Group normalisation over `x[n][p][c]` (NHWC): per image and group, the mean and biased variance over the
    /// group's channels at every pixel, then `y = (x − μ)/√(σ² + ε) · γ + β`. Statistics are accumulated per channel
    /// in float over runs of pixels and combined in double, as the channels-first kernel does per group.
    func groupNormChannelsLast(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, pixels: Int,
        groups: Int, eps: Float, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?
    ) {
        precondition(groups >= 1 && channels % groups == 0, "groupNorm: channels must divide into groups")
        guard pixels > 0, channels > 0 else { return }
        let perGroup = channels / groups
        let chunk = Self.channelsLastChunk
        let chunks = (pixels + chunk - 1) / chunk
        for n in 0..<batch {
            let image = x + n * pixels * channels, target = y + n * pixels * channels
            // Per-channel sums over each run of pixels (float), then over the runs (double).
            func channelTotals(_ value: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Double] {
                var partial = [Float](repeating: 0, count: chunks * channels)
                partial.withUnsafeMutableBufferPointer { sums in
                    let base = sums.baseAddress!
                    parallelFor(chunks) { range in
                        for item in range {
                            let row = base + item * channels
                            for p in (item * chunk)..<min(pixels, (item + 1) * chunk) {
                                value(image + p * channels, row)
                            }
                        }
                    }
                }
                var totals = [Double](repeating: 0, count: channels)
                for item in 0..<chunks {
                    for ch in 0..<channels { totals[ch] += Double(partial[item * channels + ch]) }
                }
                return totals
            }
            let count = Double(pixels * perGroup)
            let sums = channelTotals { pixel, row in VectorLoops.accumulate(pixel, into: row, channels) }
            var mean = [Float](repeating: 0, count: channels)
            for g in 0..<groups {
                let m = sums[(g * perGroup)..<((g + 1) * perGroup)].reduce(0, +) / count
                for ch in (g * perGroup)..<((g + 1) * perGroup) { mean[ch] = Float(m) }
            }
            let deviations = mean.withUnsafeBufferPointer { means in
                channelTotals { pixel, row in
                    VectorLoops.accumulateSquaredDeviation(pixel, mean: means.baseAddress!, into: row, channels)
                }
            }
            var scale = [Float](repeating: 0, count: channels), shift = [Float](repeating: 0, count: channels)
            for g in 0..<groups {
                let range = (g * perGroup)..<((g + 1) * perGroup)
                let variance = deviations[range].reduce(0, +) / count
                let rstd = 1 / (variance + Double(eps)).squareRoot()
                for ch in range {
                    let s = rstd * Double(gamma?[ch] ?? 1)
                    scale[ch] = Float(s)
                    shift[ch] = Float(Double(beta?[ch] ?? 0) - Double(mean[ch]) * s)
                }
            }
            scale.withUnsafeBufferPointer { scales in
                shift.withUnsafeBufferPointer { shifts in
                    let s = scales.baseAddress!, t = shifts.baseAddress!
                    parallelFor(pixels, grain: max(1, 16384 / channels)) { range in
                        for p in range {
                            VectorLoops.channelAffine(image + p * channels, target + p * channels, channels, scale: s,
                                                      shift: t)
                        }
                    }
                }
            }
        }
    }

    /// Nearest-neighbour resize (PyTorch `nearest`: source index `⌊dst · in / out⌋`) of NHWC maps.
    func interpolateNearestChannelsLast(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
        inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    ) {
        guard batch > 0, channels > 0, outHeight > 0, outWidth > 0 else { return }
        let rows = InterpolationAxis(.nearest, input: inHeight, output: outHeight).low
        let columns = InterpolationAxis(.nearest, input: inWidth, output: outWidth).low
        parallelFor(batch * outHeight, grain: max(1, 16384 / (outWidth * channels))) { range in
            for item in range {
                let n = item / outHeight, oh = item % outHeight
                let source = x + (n * inHeight + rows[oh]) * inWidth * channels
                let target = y + (n * outHeight + oh) * outWidth * channels
                for ow in 0..<outWidth {
                    (target + ow * channels).update(from: source + columns[ow] * channels, count: channels)
                }
            }
        }
    }

    /// Pixels per partial sum in ``groupNormChannelsLast(x:y:batch:channels:pixels:groups:eps:gamma:beta:)``.
    static let channelsLastChunk = 256
}

extension VectorLoops {
    /// `row[i] += p[i]` for `count` values.
    static func accumulate(_ p: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + 8 <= count {
            store(load(row + i) + load(p + i), row + i)
            i += 8
        }
        while i < count { row[i] += p[i]; i += 1 }
    }

    /// `row[i] += (p[i] − mean[i])²` for `count` values.
    static func accumulateSquaredDeviation(_ p: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                           into row: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + 8 <= count {
            let d = load(p + i) - load(mean + i)
            store(load(row + i) + d * d, row + i)
            i += 8
        }
        while i < count { let d = p[i] - mean[i]; row[i] += d * d; i += 1 }
    }

    /// `q[i] = p[i] · scale[i] + shift[i]` for `count` values.
    static func channelAffine(_ p: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ count: Int,
                              scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
        var i = 0
        while i + 8 <= count {
            store(load(p + i) * load(scale + i) + load(shift + i), q + i)
            i += 8
        }
        while i < count { q[i] = p[i] * scale[i] + shift[i]; i += 1 }
    }
}
