import TensorCore

extension CLIPEncoderLayer {
    /// The layer with bidirectional attention (no mask), as the vision tower runs it.
    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        let attended = selfAttention(layerNorm1(x, backend: backend), backend: backend)
        let h = backend.add(x, attended)
        return backend.add(h, mlp(layerNorm2(h, backend: backend), backend: backend))
    }
}
