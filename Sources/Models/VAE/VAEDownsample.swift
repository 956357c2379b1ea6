import TensorCore
import TensorNN

/// Halves the resolution: zero padding of one row at the bottom and one column at the right, then a 3×3
/// convolution with stride 2 and no padding (the LDM encoder's asymmetric `Downsample`; PyTorch's
/// convolution pads symmetrically, so the padding is done here).
struct VAEDownsample: Module {
    let conv: Conv2d

    init(_ scope: ParameterScope, channels: Int) {
        conv = Conv2d(scope("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, stride: 2)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("conv", conv)
        return table.table
    }

    /// `x[B, C, H, W]` → `[B, C, ⌈H/2⌉, ⌈W/2⌉]`.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        conv(Self.padBottomRight(x), backend: backend)
    }

    /// `x[B, C, H, W]` → float32 `[B, C, H+1, W+1]` with a zero last row and column.
    static func padBottomRight(_ x: Tensor) -> Tensor {
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        var out = Tensor(zeros: [x.shape[0], x.shape[1], height + 1, width + 1])
        let source = x.contiguous(as: .float32)
        source.withFloats { src in
            out.withMutableFloats { dst in
                for plane in 0..<planes {
                    for row in 0..<height {
                        let from = src.baseAddress! + (plane * height + row) * width
                        let to = dst.baseAddress! + (plane * (height + 1) + row) * (width + 1)
                        to.update(from: from, count: width)
                    }
                }
            }
        }
        return out
    }
}
