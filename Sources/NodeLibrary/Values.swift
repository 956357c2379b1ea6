import TensorCore
import Workflow

// How the node library represents ComfyUI's socket types as `NodeValue`s.
//
// | ComfyUI type | NodeValue | shape / meaning |
// |---|---|---|
// | IMAGE | `.object(Tensor)` | `[batch, height, width, channels]`, float in [0, 1], channels 3 (4 tolerated) |
// | MASK | `.object(Tensor)` | `[batch, height, width]`, float in [0, 1] (1 = masked) |
// | MODEL | `.object(ModelHandle)` | a checkpoint's UNet, loaded lazily through the model cache |
// | CLIP | `.object(CLIPHandle)` | a text encoder (through the model cache) and its output layer |
// | VAE | `.object(VAEHandle)` | a checkpoint's autoencoder, loaded lazily through the model cache |
// | CONDITIONING | `.object(Conditioning)` | `[(cond [1, 77·n, 768], pooled [1, 768])]` |
//
// Both are plain `Tensor`s (no wrapper struct): a node tells them apart by rank, exactly as ComfyUI
// does with torch tensors. Use the accessors below to read them with a shape check.

/// Socket type names used by the image nodes.
public enum SocketType {
    public static let image = "IMAGE"
    public static let mask = "MASK"
    public static let model = "MODEL"
    public static let clip = "CLIP"
    public static let vae = "VAE"
    public static let conditioning = "CONDITIONING"
}

extension NodeValue {
    /// Wraps an IMAGE or MASK tensor.
    public static func tensor(_ tensor: Tensor) -> NodeValue { .object(tensor) }
}

extension NodeInvocation {
    /// Reads an IMAGE input: a rank-4 tensor `[B, H, W, C]` with at least one pixel.
    /// - Throws: ``NodeError`` when the input is missing or not an image batch.
    public func image(_ name: String) throws -> Tensor {
        let t = try object(name, as: Tensor.self)
        guard t.rank == 4, t.shape[0] > 0, t.shape[1] > 0, t.shape[2] > 0, t.shape[3] > 0 else {
            throw NodeError("Input '\(name)' is not an IMAGE batch (shape \(t.shape))")
        }
        return t
    }

    /// Reads a MASK input: `[B, H, W]` (a bare `[H, W]` is promoted to a batch of one).
    /// - Throws: ``NodeError`` when the input is missing or not a mask.
    public func mask(_ name: String) throws -> Tensor {
        let t = try object(name, as: Tensor.self)
        if t.rank == 2 { return t.reshaped([1] + t.shape) }
        guard t.rank == 3 else { throw NodeError("Input '\(name)' is not a MASK (shape \(t.shape))") }
        return t
    }
}

/// ComfyUI's `MAX_RESOLUTION`, the upper bound of size widgets.
let maxResolution: Int64 = 16384
