import TensorCore

/// ComfyUI's CONDITIONING: a list of `(cond, {"pooled_output": pooled, …})` pairs.
///
/// For SD1.x text encoding each entry holds `cond[1, 77·windows, 768]` and `pooled[1, 768]`, float32.
public struct Conditioning: Sendable {
    /// One `[cond, options]` pair.
    public struct Entry: Sendable {
        /// The cross-attention context `[batch, tokens, width]`.
        public var cond: Tensor
        /// `pooled_output` `[batch, width]`, when the encoder gives one.
        public var pooled: Tensor?

        public init(_ cond: Tensor, pooled: Tensor?) {
            self.cond = cond
            self.pooled = pooled
        }
    }

    public var entries: [Entry]

    public init(_ entries: [Entry]) {
        self.entries = entries
    }
}
