/// Key → shape of every tensor of a checkpoint: all that model detection looks at.
///
/// Wraps the dictionary with the queries ComfyUI's detection makes (`count_blocks`, shape lookups) so
/// that the detectors read like the rules they implement.
public struct StateDictShapes: Sendable, Equatable {
    public let shapes: [String: [Int]]
    /// The file the shapes came from, for error messages.
    public let source: String?

    public init(_ shapes: [String: [Int]], source: String? = nil) {
        self.shapes = shapes
        self.source = source
    }

    public init(_ file: SafetensorsFile) {
        self.init(file.shapes, source: file.path)
    }

    public subscript(key: String) -> [Int]? { shapes[key] }

    public func contains(_ key: String) -> Bool { shapes[key] != nil }

    /// Whether any key starts with `prefix`.
    public func hasKeys(withPrefix prefix: String) -> Bool {
        shapes.keys.contains { $0.hasPrefix(prefix) }
    }

    /// Number of consecutive indices 0, 1, 2, … for which some key starts with `prefix + "\(i)."`.
    public func countBlocks(_ prefix: String) -> Int {
        var indices = Set<Int>()
        for key in shapes.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            if let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]) { indices.insert(i) }
        }
        var count = 0
        while indices.contains(count) { count += 1 }
        return count
    }

    /// Dimension `dim` of tensor `key`.
    ///
    /// - Throws: `CheckpointError` `.unrecognisedModel` naming the key when it is absent or has too few dimensions.
    public func dimension(_ key: String, _ dim: Int) throws(CheckpointError) -> Int {
        guard let shape = shapes[key] else {
            throw CheckpointError(.unrecognisedModel, "expected tensor is missing", path: source, key: key)
        }
        guard dim < shape.count else {
            throw CheckpointError(.unrecognisedModel, "shape \(shape) has no dimension \(dim)", path: source, key: key)
        }
        return shape[dim]
    }

    /// The keys grouped into families by their leading components, with counts — what an
    /// "unrecognised checkpoint" error reports.
    public func keyFamilies() -> [(family: String, count: Int)] {
        var counts: [String: Int] = [:]
        for key in shapes.keys { counts[Self.family(of: key), default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// `model.diffusion_model.*`, `first_stage_model.*`, `cond_stage_model.transformer.*`,
    /// `conditioner.embedders.N.*`, else the first component (`betas`, `unet.*`, …).
    static func family(of key: String) -> String {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        let depth: Int
        switch parts.first {
        case "model", "cond_stage_model": depth = 2
        case "conditioner": depth = 3
        default: depth = 1
        }
        guard parts.count > depth else { return key }
        return parts.prefix(depth).joined(separator: ".") + ".*"
    }
}
