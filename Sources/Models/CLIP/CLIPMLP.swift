import Checkpoints
import TensorCore
import TensorNN

/// CLIP's feed-forward block: `fc2(activation(fc1(x)))` (quick-GELU for CLIP-L).
struct CLIPMLP: Module {
    let fc1: Linear
    let fc2: Linear
    let activation: Activation

    /// Reads `fc1` and `fc2`.
    init(_ scope: ParameterScope, configuration c: CLIPTextConfiguration) {
        guard let activation = Activation(named: c.hiddenActivation) else {
            preconditionFailure("CLIP: unknown activation \(c.hiddenActivation)")
        }
        self.activation = activation
        fc1 = Linear(scope("fc1"), inFeatures: c.hiddenSize, outFeatures: c.intermediateSize)
        fc2 = Linear(scope("fc2"), inFeatures: c.intermediateSize, outFeatures: c.hiddenSize)
    }

    var parameters: [String: Tensor] {
        var table = ParameterTableBuilder()
        table.add("fc1", fc1)
        table.add("fc2", fc2)
        return table.table
    }

    func callAsFunction(_ x: Tensor, backend: some Backend) -> Tensor {
        fc2(activation(fc1(x, backend: backend), backend: backend), backend: backend)
    }
}
