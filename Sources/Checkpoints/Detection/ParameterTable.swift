/// Builds the key → shape table a model expects, one layer at a time (torch layouts: linear `[out, in]`,
/// conv `[out, in, k, k]`, norms `[c]` weight and bias).
struct ParameterTable {
    private(set) var shapes: [String: [Int]] = [:]

    mutating func add(_ key: String, _ shape: [Int]) {
        shapes[key] = shape
    }

    mutating func linear(_ prefix: String, _ input: Int, _ output: Int, bias: Bool = true) {
        add(prefix + ".weight", [output, input])
        if bias { add(prefix + ".bias", [output]) }
    }

    mutating func conv2d(_ prefix: String, _ input: Int, _ output: Int, kernel: Int) {
        add(prefix + ".weight", [output, input, kernel, kernel])
        add(prefix + ".bias", [output])
    }

    mutating func norm(_ prefix: String, _ channels: Int) {
        add(prefix + ".weight", [channels])
        add(prefix + ".bias", [channels])
    }
}
