extension ReferenceBackend {
    /// `torch.nn.functional.conv1d/conv2d/conv3d` (cross-correlation) on `x[N, C, spatial...]` with
    /// `weight[out, C/groups, k...]`, zero padding on both sides, stride, dilation and groups.
    ///
    /// `stride`, `padding` and `dilation` give one value per spatial dimension, or a single value for all.
    /// Output size per dimension: `(in + 2·pad - dilation·(k-1) - 1) / stride + 1`.
    public func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: [Int], padding: [Int], dilation: [Int],
                            groups: Int) -> Tensor {
        let spatial = x.rank - 2
        precondition((1...3).contains(spatial) && weight.rank == x.rank,
                     "convolution: input \(x.shape), weight \(weight.shape)")
        let batch = x.shape[0], inChannels = x.shape[1], outChannels = weight.shape[0]
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0
                     && weight.shape[1] == inChannels / groups,
                     "convolution: input \(x.shape), weight \(weight.shape), groups \(groups)")
        if let bias { precondition(bias.shape == [outChannels], "convolution: bias \(bias.shape)") }
        let st = Self.perDimension(stride, spatial, "stride"), pad = Self.perDimension(padding, spatial, "padding")
        let dil = Self.perDimension(dilation, spatial, "dilation")
        let inSize = Array(x.shape[2...]), kSize = Array(weight.shape[2...])
        let outSize = (0..<spatial).map { (d: Int) -> Int in
            let span: Int = dil[d] * (kSize[d] - 1) + 1
            return (inSize[d] + 2 * pad[d] - span) / st[d] + 1
        }
        let valid = st.allSatisfy { $0 >= 1 } && dil.allSatisfy { $0 >= 1 } && pad.allSatisfy { $0 >= 0 }
        let fits = (0..<spatial).allSatisfy { inSize[$0] + 2 * pad[$0] >= dil[$0] * (kSize[$0] - 1) + 1 }
        precondition(valid && fits,
                     "convolution: input \(x.shape), kernel \(kSize), stride \(st), padding \(pad), dilation \(dil)")
        // Treat 1-d and 2-d as 3-d with leading unit dimensions.
        let lift = 3 - spatial
        func lifted(_ v: [Int], _ fill: Int) -> [Int] { [Int](repeating: fill, count: lift) + v }
        let iS = lifted(inSize, 1), kS = lifted(kSize, 1), oS = lifted(outSize, 1)
        let sS = lifted(st, 1), pS = lifted(pad, 0), dS = lifted(dil, 1)
        let inPlane = iS[0] * iS[1] * iS[2], outPlane = oS[0] * oS[1] * oS[2], kVolume = kS[0] * kS[1] * kS[2]
        let inPerGroup = inChannels / groups, outPerGroup = outChannels / groups
        let xs = x.scalars, w = weight.scalars, b = bias?.scalars
        var out = [Float](repeating: 0, count: batch * outChannels * outPlane)
        for n in 0..<batch {
            for oc in 0..<outChannels {
                let group = oc / outPerGroup
                for od in 0..<oS[0] {
                    for oh in 0..<oS[1] {
                        for ow in 0..<oS[2] {
                            var sum = Double(b?[oc] ?? 0)
                            for icg in 0..<inPerGroup {
                                let ic = group * inPerGroup + icg
                                for kd in 0..<kS[0] {
                                    let id = od * sS[0] - pS[0] + kd * dS[0]
                                    if id < 0 || id >= iS[0] { continue }
                                    for kh in 0..<kS[1] {
                                        let ih = oh * sS[1] - pS[1] + kh * dS[1]
                                        if ih < 0 || ih >= iS[1] { continue }
                                        for kw in 0..<kS[2] {
                                            let iw = ow * sS[2] - pS[2] + kw * dS[2]
                                            if iw < 0 || iw >= iS[2] { continue }
                                            let xIndex: Int = (n * inChannels + ic) * inPlane + (id * iS[1] + ih) * iS[2] + iw
                                            let wIndex: Int = (oc * inPerGroup + icg) * kVolume + (kd * kS[1] + kh) * kS[2] + kw
                                            let xv = xs[xIndex], wv = w[wIndex]
                                            sum += Double(xv) * Double(wv)
                                        }
                                    }
                                }
                            }
                            let outIndex: Int = (n * outChannels + oc) * outPlane + (od * oS[1] + oh) * oS[2] + ow
                            out[outIndex] = Float(sum)
                        }
                    }
                }
            }
        }
        return Tensor(shape: [batch, outChannels] + outSize, scalars: out)
    }
}
