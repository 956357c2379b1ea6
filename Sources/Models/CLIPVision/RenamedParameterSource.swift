import Checkpoints
import TensorCore
import TensorNN

/// A parameter source with its keys renamed by ``KeyRule``s.
struct RenamedParameterSource: ParameterSource {
    let base: any ParameterSource
    /// Renamed key → key in `base`.
    private let baseKey: [String: String]

    init(base: any ParameterSource, rules: [KeyRule]) {
        self.base = base
        var map: [String: String] = [:]
        for key in base.parameterKeys { map[KeyRule.apply(rules, to: key)] = key }
        baseKey = map
    }

    var parameterKeys: [String] { Array(baseKey.keys) }

    func parameterShape(_ key: String) -> [Int]? { baseKey[key].flatMap(base.parameterShape) }

    func parameter(_ key: String) throws -> Tensor {
        guard let original = baseKey[key] else { throw CheckpointError(.missingTensor, "no such parameter", key: key) }
        return try base.parameter(original)
    }
}
