import Diffusion
import TensorCore
import Workflow

extension SocketType {
    public static let latent = "LATENT"
}

extension NodeInvocation {
    /// Reads a LATENT input: samples `[B, C, h, w]` with at least one item.
    /// - Throws: ``NodeError`` when the input is missing or malformed.
    public func latent(_ name: String) throws -> Latent {
        let latent = try object(name, as: Latent.self)
        let s = latent.samples.shape
        guard s.count == 4, s.allSatisfy({ $0 > 0 }) else {
            throw NodeError("Input '\(name)' is not a LATENT batch (shape \(s))")
        }
        return latent
    }
}
