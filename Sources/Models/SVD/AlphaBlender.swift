import Checkpoints
import Foundation
import TensorCore
import TensorNN

/// Mixes the spatial and temporal paths of a video block (ComfyUI's `AlphaBlender`):
/// `α · spatial + (1 − α) · temporal`, with one learned scalar `mix_factor` per block.
///
/// `α` is `sigmoid(mix_factor)` for the learned strategies and `mix_factor` itself for `fixed`. With
/// `learned_with_images`, frames flagged as single images would take `α = 1`; SVD never flags a frame,
/// so every frame takes the learned `α`.
struct AlphaBlender: Module {
    let mixFactor: Tensor
    /// The weight of the spatial path.
    let alpha: Float

    /// Reads `mix_factor` (`[1]`) under `scope` (`time_mixer`).
    init(_ scope: ParameterScope, strategy: VideoUNetConfiguration.MergeStrategy) {
        mixFactor = scope.tensor("mix_factor", shape: [1])
        let factor = mixFactor.scalars[0]
        switch strategy {
        case .fixed: alpha = factor
        case .learned, .learnedWithImages: alpha = 1 / (1 + expf(-factor))
        }
    }

    var parameters: [String: Tensor] { ["mix_factor": mixFactor] }

    /// `α · spatial + (1 − α) · temporal` for two tensors of one shape (either may be a strided view).
    func callAsFunction(spatial: Tensor, temporal: Tensor, backend: some Backend) -> Tensor {
        backend.weightedSum(spatial, alpha, temporal, 1 - alpha)
    }
}
