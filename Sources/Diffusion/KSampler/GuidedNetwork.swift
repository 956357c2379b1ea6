import Models
import TensorCore

/// A denoising network as the guider drives it (ComfyUI's `BaseModel.apply_model` around the diffusion model,
/// with the conditioning turned into the model's extra inputs by its `extra_conds`).
public protocol GuidedNetwork: Sendable {
    /// Whether `next` can join `group` in one batch (ComfyUI's `can_concat` over every extra input).
    func canBatch(_ next: Conditioning.Entry, with group: [Conditioning.Entry]) -> Bool

    /// The network output for `input` under each entry of `group`, stacked along the batch: `[n·B, C, h, w]`
    /// for `n` entries.
    ///
    /// - Parameters:
    ///   - input: the model input `[B, C, h, w]` (the sampler state scaled by the model sampling's `c_in`).
    ///   - timestep: the network's timestep for every row.
    func output(_ input: Tensor, timestep: Float, group: [Conditioning.Entry], backend: any Backend) -> Tensor
}

extension SD1UNet: GuidedNetwork {
    public func canBatch(_ next: Conditioning.Entry, with group: [Conditioning.Entry]) -> Bool {
        guard let first = group.first, next.cond.shape[2] == first.cond.shape[2],
              let length = SD1Contexts.commonLength(group.map(\.cond.shape[1])) else { return false }
        return SD1Contexts.concatenatedLength(length, next.cond.shape[1]) != nil
    }

    public func output(_ input: Tensor, timestep: Float, group: [Conditioning.Entry], backend: any Backend) -> Tensor {
        let batch = input.shape[0]
        let contexts = group.map { $0.cond.repeatedToBatch(batch) }
        guard let length = SD1Contexts.commonLength(contexts.map { $0.shape[1] }) else {
            preconditionFailure("SD1UNet: contexts \(contexts.map(\.shape)) cannot share a batch")
        }
        let padded = contexts.map { SD1Contexts.padded($0, to: length) }
        let x = group.count == 1 ? input : Tensor.concatenated([Tensor](repeating: input, count: group.count), dim: 0)
        let context = padded.count == 1 ? padded[0] : Tensor.concatenated(padded, dim: 0)
        return self(x, timesteps: [Float](repeating: timestep, count: x.shape[0]), context: context, backend: backend)
    }
}

/// How ComfyUI's `CONDCrossAttn` batches text contexts of different lengths.
enum SD1Contexts {
    /// The common length of two contexts that ComfyUI's `CONDCrossAttn` concatenates (their least common
    /// multiple, when that is at most 4× the shorter), or nil.
    static func concatenatedLength(_ a: Int, _ b: Int) -> Int? {
        if a == b { return a }
        func gcd(_ x: Int, _ y: Int) -> Int { y == 0 ? x : gcd(y, x % y) }
        let lcm = a / gcd(a, b) * b
        return lcm / min(a, b) > 4 ? nil : lcm
    }

    /// The token count a group of contexts is padded to, folding ``concatenatedLength(_:_:)`` from the first.
    static func commonLength(_ lengths: [Int]) -> Int? {
        guard var length = lengths.first else { return nil }
        for next in lengths.dropFirst() {
            guard let joined = concatenatedLength(length, next) else { return nil }
            length = joined
        }
        return length
    }

    /// `context` repeated along its token dimension up to `length` tokens (attention over repeated keys and
    /// values gives the same result).
    static func padded(_ context: Tensor, to length: Int) -> Tensor {
        let tokens = context.shape[1]
        guard tokens < length else { return context }
        return Tensor.concatenated([Tensor](repeating: context, count: length / tokens), dim: 1)
    }
}
