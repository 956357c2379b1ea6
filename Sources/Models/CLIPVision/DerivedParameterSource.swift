import Checkpoints
import TensorCore
import TensorNN

/// A ``ParameterSource`` that presents some parameters as views of others: rows of a fused tensor
/// (OpenCLIP's `in_proj_weight`, q/k/v stacked) or a transposed matrix (OpenCLIP's `proj`).
///
/// The tensors a derivation reads are consumed: they are not listed among the keys, so a loader
/// neither reads them twice nor reports them as unexpected.
struct DerivedParameterSource: ParameterSource {
    /// How one parameter is made from a key of the base source.
    enum Derivation: Sendable, Equatable {
        /// Rows `start ..< start + count` of `source` along its first dimension (a zero-copy view).
        case rows(of: String, start: Int, count: Int)
        /// `source[a, b]` as `[b, a]`, copied once into a dense tensor of the same dtype.
        case transposed(of: String)

        var source: String {
            switch self {
            case .rows(let source, _, _), .transposed(let source): source
            }
        }
    }

    let base: any ParameterSource
    let derived: [String: Derivation]
    private let consumed: Set<String>

    init(base: any ParameterSource, derived: [String: Derivation]) {
        self.base = base
        self.derived = derived
        consumed = Set(derived.values.map(\.source))
    }

    var parameterKeys: [String] {
        base.parameterKeys.filter { !consumed.contains($0) } + derived.keys.filter { parameterShape($0) != nil }
    }

    func parameterShape(_ key: String) -> [Int]? {
        guard let derivation = derived[key] else {
            return consumed.contains(key) ? nil : base.parameterShape(key)
        }
        guard let shape = base.parameterShape(derivation.source) else { return nil }
        switch derivation {
        case .rows(_, let start, let count):
            guard let rows = shape.first, start + count <= rows else { return nil }
            return [count] + shape.dropFirst()
        case .transposed:
            guard shape.count == 2 else { return nil }
            return [shape[1], shape[0]]
        }
    }

    func parameter(_ key: String) throws -> Tensor {
        guard let derivation = derived[key] else {
            guard !consumed.contains(key) else { throw CheckpointError(.missingTensor, "no such parameter", key: key) }
            return try base.parameter(key)
        }
        guard parameterShape(key) != nil else { throw CheckpointError(.missingTensor, "no such parameter", key: derivation.source) }
        let tensor = try base.parameter(derivation.source)
        switch derivation {
        case .rows(_, let start, let count):
            return tensor.narrowed(dim: 0, start: start, length: count)
        case .transposed:
            return tensor.transposed(0, 1).contiguous()
        }
    }
}
