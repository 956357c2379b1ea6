import CDNNL

/// The geometry of an N-d convolution (1, 2 or 3 spatial dimensions) in PyTorch's NC[D]HW layout.
///
/// Weights are PyTorch's `[outChannels, inChannels / groups, k...]`, contiguous.
public struct ConvolutionParameters: Hashable, Sendable {
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    /// Spatial input size: `[H, W]` or `[D, H, W]`.
    public var inputSize: [Int]
    public var kernelSize: [Int]
    public var stride: [Int]
    /// Zero padding before each spatial dimension.
    public var paddingBegin: [Int]
    /// Zero padding after each spatial dimension.
    public var paddingEnd: [Int]
    public var dilation: [Int]
    public var groups: Int

    /// - Parameters:
    ///   - padding: symmetric padding per spatial dimension (PyTorch's `padding=`).
    public init(
        batch: Int, inChannels: Int, outChannels: Int, inputSize: [Int], kernelSize: [Int],
        stride: [Int]? = nil, padding: [Int]? = nil, dilation: [Int]? = nil, groups: Int = 1
    ) {
        let ones = [Int](repeating: 1, count: inputSize.count)
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.inputSize = inputSize
        self.kernelSize = kernelSize
        self.stride = stride ?? ones
        self.paddingBegin = padding ?? ones.map { _ in 0 }
        self.paddingEnd = self.paddingBegin
        self.dilation = dilation ?? ones
        self.groups = groups
    }

    /// Spatial output size: `(in + padBegin + padEnd - dilation·(k-1) - 1) / stride + 1` per dimension.
    public var outputSize: [Int] {
        inputSize.indices.map { d in
            (inputSize[d] + paddingBegin[d] + paddingEnd[d] - dilation[d] * (kernelSize[d] - 1) - 1) / stride[d] + 1
        }
    }

    public var inputShape: [Int] { [batch, inChannels] + inputSize }
    public var outputShape: [Int] { [batch, outChannels] + outputSize }
    public var weightShape: [Int] { [outChannels, inChannels / groups] + kernelSize }

    /// Checks the configuration; throws ``KernelError`` with code `invalid_shape` when it cannot run.
    public func validate() throws {
        let n = inputSize.count
        guard (1...3).contains(n), kernelSize.count == n, stride.count == n, paddingBegin.count == n,
              paddingEnd.count == n, dilation.count == n
        else { throw KernelError(code: "invalid_shape", message: "convolution: spatial ranks disagree: \(self)") }
        guard groups >= 1, inChannels % groups == 0, outChannels % groups == 0, batch >= 1,
              stride.allSatisfy({ $0 >= 1 }), dilation.allSatisfy({ $0 >= 1 }), outputSize.allSatisfy({ $0 >= 1 })
        else { throw KernelError(code: "invalid_shape", message: "convolution: invalid configuration: \(self)") }
    }
}

extension CPUEngine {
    /// Forward convolution (cross-correlation, as PyTorch's `conv1d/2d/3d`) with stride, padding, dilation, groups
    /// and bias, through oneDNN's f32 convolution primitive on plain NC[D]HW buffers.
    ///
    /// - Parameters:
    ///   - input: `parameters.inputShape`, contiguous.
    ///   - weight: `parameters.weightShape`, contiguous.
    ///   - bias: `outChannels` values, or `nil`.
    ///   - output: `parameters.outputShape`, contiguous; overwritten.
    /// - Throws: ``KernelError`` for an invalid configuration or a oneDNN failure.
    public func convolution(
        _ parameters: ConvolutionParameters, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>
    ) throws {
        try dnnlConvolution(parameters, input: UnsafeRawPointer(input), weight: UnsafeRawPointer(weight), bias: bias,
                            output: output, inputType: dnnl_f32)
    }

    /// ``convolution(_:input:weight:bias:output:)`` on bfloat16 input and weights (raw 16-bit patterns, same layouts),
    /// with a float32 bias and a float32 output.
    public func convolutionBFloat16(
        _ parameters: ConvolutionParameters, input: UnsafeRawPointer, weight: UnsafeRawPointer,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>
    ) throws {
        try dnnlConvolution(parameters, input: input, weight: weight, bias: bias, output: output, inputType: dnnl_bf16)
    }

    func dnnlConvolution(
        _ parameters: ConvolutionParameters, input: UnsafeRawPointer, weight: UnsafeRawPointer,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, inputType: dnnl_data_type_t
    ) throws {
        try parameters.validate()
        let p = parameters
        let spatial = p.inputSize.count
        let g = p.groups
        let weightDims = g == 1 ? p.weightShape : [g, p.outChannels / g, p.inChannels / g] + p.kernelSize
        let srcMD = try memoryDescriptor(p.inputShape, strides: denseStrides(p.inputShape), type: inputType)
        let weightMD = try memoryDescriptor(weightDims, strides: denseStrides(weightDims), type: inputType)
        let dstMD = try memoryDescriptor(p.outputShape, strides: denseStrides(p.outputShape))
        let biasMD = try memoryDescriptor([p.outChannels], strides: [1])
        var ints = [p.batch, p.inChannels, p.outChannels, g, bias == nil ? 0 : 1]
        ints += p.inputSize + p.kernelSize + p.stride + p.paddingBegin + p.paddingEnd + p.dilation
        let kind = "conv\(spatial)d" + (inputType == dnnl_f32 ? "" : "_bf16")
        try runDNNL(PrimitiveKey(kind: kind, ints: ints)) { engine in
            var op = dnnl_convolution_desc_t()
            var (srcMD, weightMD, dstMD, biasMD) = (srcMD, weightMD, dstMD, biasMD)
            let strides = p.stride.map(Int64.init)
            let dilates = p.dilation.map { Int64($0 - 1) }  // oneDNN counts dilation from 0
            let padL = p.paddingBegin.map(Int64.init), padR = p.paddingEnd.map(Int64.init)
            if bias != nil {
                try check(dnnl_dilated_convolution_forward_desc_init(
                    &op, dnnl_forward_inference, dnnl_convolution_direct, &srcMD, &weightMD, &biasMD, &dstMD,
                    strides, dilates, padL, padR), "dnnl_dilated_convolution_forward_desc_init")
            } else {
                try check(dnnl_dilated_convolution_forward_desc_init(
                    &op, dnnl_forward_inference, dnnl_convolution_direct, &srcMD, &weightMD, nil, &dstMD,
                    strides, dilates, padL, padR), "dnnl_dilated_convolution_forward_desc_init")
            }
            return try primitiveDescriptor(&op, engine: engine, "convolution pd")
        } args: { _ in
            var args: [(Int32, dnnl_memory_desc_t, UnsafeRawPointer)] = [
                (DNNL_ARG_SRC, srcMD, input), (DNNL_ARG_WEIGHTS, weightMD, weight),
                (DNNL_ARG_DST, dstMD, UnsafeRawPointer(output)),
            ]
            if let bias { args.append((DNNL_ARG_BIAS, biasMD, UnsafeRawPointer(bias))) }
            return args
        }
    }
}

extension KernelReference {
    /// Naive N-d convolution (1 to 3 spatial dimensions) with the contract of ``CPUEngine/convolution(_:input:weight:bias:output:)``.
    public static func convolution(
        _ p: ConvolutionParameters, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>
    ) {
        // Treat every case as 3-d by prefixing unit dimensions.
        let pad = 3 - p.inputSize.count
        func lift(_ v: [Int], _ fill: Int) -> [Int] { [Int](repeating: fill, count: pad) + v }
        let inS = lift(p.inputSize, 1), ks = lift(p.kernelSize, 1), st = lift(p.stride, 1)
        let pb = lift(p.paddingBegin, 0), dl = lift(p.dilation, 1), outS = lift(p.outputSize, 1)
        let icPerGroup = p.inChannels / p.groups, ocPerGroup = p.outChannels / p.groups
        let inPlane = inS[0] * inS[1] * inS[2], outPlane = outS[0] * outS[1] * outS[2], kVol = ks[0] * ks[1] * ks[2]
        for n in 0..<p.batch {
            for oc in 0..<p.outChannels {
                let group = oc / ocPerGroup
                for od in 0..<outS[0] { for oh in 0..<outS[1] { for ow in 0..<outS[2] {
                    var sum = Double(bias?[oc] ?? 0)
                    for icg in 0..<icPerGroup {
                        let ic = group * icPerGroup + icg
                        for kd in 0..<ks[0] { for kh in 0..<ks[1] { for kw in 0..<ks[2] {
                            let id = od * st[0] - pb[0] + kd * dl[0]
                            let ih = oh * st[1] - pb[1] + kh * dl[1]
                            let iw = ow * st[2] - pb[2] + kw * dl[2]
                            guard id >= 0, id < inS[0], ih >= 0, ih < inS[1], iw >= 0, iw < inS[2] else { continue }
                            let x = input[(n * p.inChannels + ic) * inPlane + (id * inS[1] + ih) * inS[2] + iw]
                            let w = weight[(oc * icPerGroup + icg) * kVol + (kd * ks[1] + kh) * ks[2] + kw]
                            sum += Double(x) * Double(w)
                        } } }
                    }
                    output[(n * p.outChannels + oc) * outPlane + (od * outS[1] + oh) * outS[2] + ow] = Float(sum)
                } } }
            }
        }
    }
}
