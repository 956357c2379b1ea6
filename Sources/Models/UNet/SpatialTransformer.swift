import TensorCore
import TensorNN

/// The latent-diffusion UNet's attention layer over an image (Rombach et al., 2022): GroupNorm
/// (32 groups, ε = 1e-6), `proj_in`, the pixels as a sequence of `H·W` tokens through
/// ``BasicTransformerBlock``s, `proj_out`, plus the input.
///
/// `proj_in`/`proj_out` are 1×1 convolutions (SD1.x) or linear layers (SD2 and later); both are the same
/// per-pixel matrix product, so both run as one GEMM on a transposed view of the normalised input
/// (`[B, C, H·W]` read as `[B, H·W, C]`) and back (`[B, H·W, C]` read as `[B, C, H·W]`), without a
/// separate layout copy.
struct SpatialTransformer: Module {
    /// A per-pixel projection as stored (conv `[out, in, 1, 1]` or linear `[out, in]`).
    enum Projection: Module {
        case conv(Conv2d)
        case linear(Linear)

        init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, linear: Bool) {
            self = linear
                ? .linear(Linear(scope, inFeatures: inChannels, outFeatures: outChannels))
                : .conv(Conv2d(scope, inChannels: inChannels, outChannels: outChannels, kernelSize: 1))
        }

        var parameters: [String: Tensor] {
            switch self {
            case .conv(let conv): conv.parameters
            case .linear(let linear): linear.parameters
            }
        }

        /// `[out, in]`.
        var matrix: Tensor {
            switch self {
            case .conv(let conv): conv.weight.reshaped([conv.weight.shape[0], conv.weight.shape[1]])
            case .linear(let linear): linear.weight
            }
        }

        var bias: Tensor? {
            switch self {
            case .conv(let conv): conv.bias
            case .linear(let linear): linear.bias
            }
        }
    }

    let norm: GroupNorm
    let projectIn: Projection
    let blocks: [BasicTransformerBlock]
    let projectOut: Projection

    /// Reads `norm`, `proj_in`, `transformer_blocks.0 ..< depth` and `proj_out`.
    ///
    /// - Parameters:
    ///   - channels: the image channels, which are also the token width (heads × head width).
    ///   - linearProjection: `proj_in`/`proj_out` are linear layers rather than 1×1 convolutions.
    init(_ scope: ParameterScope, channels: Int, heads: Int, depth: Int, contextDimension: Int, linearProjection: Bool) {
        norm = GroupNorm(scope("norm"), groups: 32, channels: channels, epsilon: 1e-6)
        projectIn = Projection(scope("proj_in"), inChannels: channels, outChannels: channels, linear: linearProjection)
        blocks = (0..<depth).map { d in
            BasicTransformerBlock(scope("transformer_blocks.\(d)"), dimension: channels, heads: heads,
                                  contextDimension: contextDimension)
        }
        projectOut = Projection(scope("proj_out"), inChannels: channels, outChannels: channels, linear: linearProjection)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("norm", norm)
        table.add("proj_in", projectIn)
        for (d, block) in blocks.enumerated() { table.add("transformer_blocks.\(d)", block) }
        table.add("proj_out", projectOut)
        return table.table
    }

    /// `x[B, C, H, W]` attending to `context[B, Lc, contextDim]` → `[B, C, H, W]`.
    func callAsFunction(_ x: Tensor, context: Tensor, backend: some Backend) -> Tensor {
        var tokens = projectedIn(x, backend: backend)
        for block in blocks { tokens = block(tokens, context: context, backend: backend) }
        return projectedOut(tokens, residual: x, backend: backend)
    }

    /// `norm` and `proj_in`: `x[B, C, H, W]` → tokens `[B, H·W, C']`.
    func projectedIn(_ x: Tensor, backend: some Backend) -> Tensor {
        let (batch, channels) = (x.shape[0], x.shape[1])
        let normed = norm(x, backend: backend).reshaped([batch, channels, x.shape[2] * x.shape[3]])
        // [B, HW, C]·[C, C'] → [B, HW, C'] (tokens), reading the normalised image transposed in place.
        var tokens = backend.matmul(normed.permuted([0, 2, 1]), projectIn.matrix.transposed(0, 1))
        if let bias = projectIn.bias { tokens = backend.add(tokens, bias) }
        return tokens
    }

    /// `proj_out` and the residual: tokens `[B, H·W, C']` → `[B, C, H, W]` plus `residual[B, C, H, W]`.
    func projectedOut(_ tokens: Tensor, residual x: Tensor, backend: some Backend) -> Tensor {
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        // [C, C']·[B, C', HW] → [B, C, HW] (the image layout), reading the tokens transposed in place.
        var out = backend.matmul(projectOut.matrix, tokens.permuted([0, 2, 1]))
        if let bias = projectOut.bias { out = backend.add(out, bias.reshaped([channels, 1])) }
        return backend.add(out.reshaped([batch, channels, height, width]), x)
    }
}
