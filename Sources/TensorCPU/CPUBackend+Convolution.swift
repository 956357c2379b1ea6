import TensorCore

extension CPUBackend {
    /// Convolution over 1–3 spatial dimensions on oneDNN (``CPUEngine/convolution(_:input:weight:bias:output:)``);
    /// falls back to ``ReferenceBackend`` when oneDNN rejects a configuration. `stride`, `padding` and `dilation` give
    /// one value per spatial dimension or one for all.
    public func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: [Int], padding: [Int], dilation: [Int],
                            groups: Int) -> Tensor {
        let spatial = x.rank - 2
        precondition((1...3).contains(spatial) && weight.rank == x.rank,
                     "convolution: input \(x.shape), weight \(weight.shape)")
        func perDimension(_ v: [Int], _ what: String) -> [Int] {
            if v.count == 1 { return [Int](repeating: v[0], count: spatial) }
            precondition(v.count == spatial, "convolution: \(what) \(v) for \(spatial) spatial dimensions")
            return v
        }
        let parameters = ConvolutionParameters(
            batch: x.shape[0], inChannels: x.shape[1], outChannels: weight.shape[0], inputSize: Array(x.shape[2...]),
            kernelSize: Array(weight.shape[2...]), stride: perDimension(stride, "stride"),
            padding: perDimension(padding, "padding"), dilation: perDimension(dilation, "dilation"), groups: groups)
        do {
            try parameters.validate()
        } catch {
            preconditionFailure("convolution: input \(x.shape), weight \(weight.shape): \(error)")
        }
        precondition(weight.shape == parameters.weightShape && bias.map { $0.shape == [weight.shape[0]] } ?? true,
                     "convolution: input \(x.shape), weight \(weight.shape), bias \(bias?.shape ?? []), groups \(groups)")
        // A channels-last map stays channels-last (no transpose on either side) whenever the brgemm kernels take the
        // convolution; a channels-first one takes them where ``usesChannelsLast(_:weight:)`` finds them worth it.
        let keepsLayout = Self.isChannelsLast(x) && parameters.inputSize.count == 2 && parameters.groups == 1
            && weight.isContiguous && (weight.dtype == .float32 || weight.dtype == .bfloat16)
        if keepsLayout || Self.usesChannelsLast(parameters, weight: weight) {
            let input = keepsLayout ? x : Self.dense(x), b = bias.map(Self.dense)
            let out = keepsLayout
                ? Self.channelsLastTensor(batch: parameters.batch, channels: parameters.outChannels,
                                          height: parameters.outputSize[0], width: parameters.outputSize[1])
                : Tensor(uninitialized: parameters.outputShape)
            let succeeded: Bool = withExtendedLifetime((input, weight, b, out)) {
                do {
                    try engine.convolutionChannelsLast(
                        parameters, input: Self.pointer(input), weight: weight.baseAddress, weightOwner: weight.storage,
                        bfloat16: weight.dtype == .bfloat16, bias: b.map { UnsafePointer(Self.pointer($0)) },
                        output: Self.pointer(out), inputIsChannelsLast: keepsLayout, outputChannelsLast: keepsLayout)
                    return true
                } catch {
                    return false
                }
            }
            if succeeded { return out }
        }
        let out = Tensor(uninitialized: parameters.outputShape)
        if weight.dtype == .bfloat16 {
            // A bfloat16 model: input rounded to bfloat16, float32 accumulation and output.
            let input = bfloat16(x), w = weight.contiguous(), b = bias.map(Self.dense)
            let succeeded: Bool = withExtendedLifetime((input, w, b, out)) {
                do {
                    try engine.convolutionBFloat16(parameters, input: input.baseAddress, weight: w.baseAddress,
                                                   bias: b.map { UnsafePointer(Self.pointer($0)) },
                                                   output: Self.pointer(out))
                    return true
                } catch {
                    return false
                }
            }
            if succeeded { return out }
        }
        let input = Self.dense(x), w = Self.dense(weight), b = bias.map(Self.dense)
        let succeeded: Bool = withExtendedLifetime((input, w, b, out)) {
            do {
                try engine.convolution(parameters, input: Self.pointer(input), weight: Self.pointer(w),
                                       bias: b.map { UnsafePointer(Self.pointer($0)) }, output: Self.pointer(out))
                return true
            } catch {
                return false
            }
        }
        guard succeeded else {
            return reference.convolution(x, weight: weight, bias: bias, stride: stride, padding: padding,
                                         dilation: dilation, groups: groups)
        }
        return out
    }

    /// Whether a convolution runs on ``CPUEngine/convolutionChannelsLast(_:input:weight:weightOwner:bfloat16:bias:output:)``,
    /// whose brgemm kernels are faster but keep a packed copy of the weights (as long as the weight tensor lives).
    ///
    /// 2-d ungrouped convolutions with dense weights qualify: all of them for bfloat16 weights (a bfloat16 model has
    /// memory to spare, and its plain-layout path is half as fast), and for float32 weights those with activations of
    /// at most ``channelsLastMaximumBytes`` and at least ``channelsLastMinimumPixels`` output pixels over the batch,
    /// where the speed-up is worth the copy: a UNet's high-resolution levels, whose weights are small, not the
    /// 1280-channel low-resolution levels, which hold most of a float32 UNet's bytes.
    static func usesChannelsLast(_ p: ConvolutionParameters, weight: Tensor) -> Bool {
        guard p.inputSize.count == 2, p.groups == 1, weight.isContiguous else { return false }
        // Above a few tens of MiB per activation (a VAE decoder's 128–512-channel maps at 256² and 512²) the two
        // layout transposes cost more than the faster kernel saves: measured, the decode of a 512² image was slower.
        // (A bfloat16 convolution transposes anyway: its input is rounded on the way in, and its plain-layout path is
        // half as fast, so it takes this path at any size.)
        let largest = max(p.inputShape.reduce(1, *), p.outputShape.reduce(1, *)) * 4
        switch weight.dtype {
        case .bfloat16: return true
        case .float32:
            return largest <= channelsLastMaximumBytes && p.batch * p.outputSize.reduce(1, *) >= channelsLastMinimumPixels
        default: return false
        }
    }

    /// See ``usesChannelsLast(_:weight:)``.
    static let channelsLastMinimumPixels = 2048
    /// See ``usesChannelsLast(_:weight:)``: the largest float32 activation, in bytes.
    static let channelsLastMaximumBytes = 32 << 20

    /// Group normalisation on the SIMD kernel ``CPUEngine/groupNorm(x:y:batch:channels:spatial:groups:eps:gamma:beta:)``.
    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.rank >= 2 && groups >= 1 && x.shape[1] % groups == 0, "groupNorm: \(x.shape), \(groups) groups")
        let channels = x.shape[1]
        precondition(weight.map { $0.count == channels } ?? true && bias.map { $0.count == channels } ?? true,
                     "groupNorm: weight \(weight?.shape ?? []), bias \(bias?.shape ?? []) for \(x.shape)")
        if Self.isChannelsLast(x) {
            return groupNormChannelsLast(x, groups: groups, weight: weight, bias: bias, epsilon: epsilon)
        }
        let input = Self.dense(x), gamma = weight.map(Self.dense), beta = bias.map(Self.dense)
        let out = Tensor(uninitialized: x.shape)
        withExtendedLifetime((input, gamma, beta, out)) {
            engine.groupNorm(x: Self.pointer(input), y: Self.pointer(out), batch: x.shape[0], channels: channels,
                             spatial: x.shape[2...].reduce(1, *), groups: groups, eps: epsilon,
                             gamma: gamma.map { UnsafePointer(Self.pointer($0)) },
                             beta: beta.map { UnsafePointer(Self.pointer($0)) })
        }
        return out
    }

    /// Layer normalisation on the SIMD kernel ``CPUEngine/layerNorm(x:y:rows:dim:eps:gamma:beta:)``.
    public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        precondition(x.rank >= 1, "layerNorm: scalar input")
        let dim = x.shape[x.rank - 1]
        precondition(weight.map { $0.count == dim } ?? true && bias.map { $0.count == dim } ?? true,
                     "layerNorm: weight \(weight?.shape ?? []), bias \(bias?.shape ?? []) for \(x.shape)")
        let input = Self.dense(x), gamma = weight.map(Self.dense), beta = bias.map(Self.dense)
        let out = Tensor(uninitialized: x.shape)
        guard dim > 0 else { return out }
        withExtendedLifetime((input, gamma, beta, out)) {
            engine.layerNorm(x: Self.pointer(input), y: Self.pointer(out), rows: x.count / dim, dim: dim, eps: epsilon,
                             gamma: gamma.map { UnsafePointer(Self.pointer($0)) },
                             beta: beta.map { UnsafePointer(Self.pointer($0)) })
        }
        return out
    }

    /// Softmax over the last dimension on oneDNN (``CPUEngine/softmax(x:y:rows:dim:)``); ``ReferenceBackend`` when
    /// oneDNN fails.
    public func softmax(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1, "softmax: scalar input")
        let dim = x.shape[x.rank - 1]
        let input = Self.dense(x)
        let out = Tensor(uninitialized: x.shape)
        guard dim > 0, x.count > 0 else { return out }
        let succeeded: Bool = withExtendedLifetime((input, out)) {
            do {
                try engine.softmax(x: Self.pointer(input), y: Self.pointer(out), rows: x.count / dim, dim: dim)
                return true
            } catch {
                return false
            }
        }
        return succeeded ? out : reference.softmax(x)
    }
}
