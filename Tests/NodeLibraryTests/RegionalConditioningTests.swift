import Checkpoints
@testable import Diffusion
import Foundation
import LoomTestSupport
import TensorCore
import Testing

/// ComfyUI's conditioning nodes and the sampler's regional path (areas, percentages, strengths, timestep ranges,
/// the entries ComfyUI adds for the other side's areas) against the real ComfyUI's final latents
/// (`Fixtures/conditioning/README.md`), and masks against a direct reading of `get_area_and_mult`.
@Suite struct RegionalConditioningTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/conditioning")

    /// The fixture workflow with its `SaveLatent` replaced by a capture node, as node id → node JSON.
    static func workflow(_ name: String) throws -> [String: String] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name + ".json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var nodes: [String: String] = [:]
        for (id, value) in root {
            var node = try #require(value as? [String: Any])
            if node["class_type"] as? String == "SaveLatent" {
                let inputs = try #require(node["inputs"] as? [String: Any])
                node = ["class_type": "CaptureLatent", "inputs": ["samples": inputs["samples"]!]]
            }
            nodes[id] = String(decoding: try JSONSerialization.data(withJSONObject: node), as: UTF8.self)
        }
        return nodes
    }

    static func golden(_ name: String) throws -> Tensor {
        try SafetensorsFile(path: fixtures.appendingPathComponent(name + ".latent").path).tensor("latent_tensor")
    }

    @Test(arguments: ["area", "zero"])
    func finalLatentMatchesComfyUI(_ name: String) throws {
        let harness = try NodeHarness()
        let events = Events()
        let outcome = try harness.run(KSamplerNodeTests.json(try Self.workflow(name)), events: events)
        try #require(outcome.status == .success, "\(String(describing: events.failure))")
        let latent = try #require(harness.captured.latent("30")).samples
        let reference = try Self.golden(name)
        #expect(latent.shape == reference.shape)
        let error = Parity.relativeError(latent.contiguous(as: .float32).scalars,
                                         reference: reference.contiguous(as: .float32).scalars)
        #expect(error <= 1e-3, "\(name): max |Δ| / max |ref| = \(error)")
    }

    /// A mask weighs the entry per position (`mask · mask_strength · strength`), resized bilinearly to the latent;
    /// with `set_area_to_bounds` the entry runs on the mask's bounding box (at least 8 cells each way).
    @Test func masksWeighAndBoundTheEntry() throws {
        var entry = Conditioning.Entry(Tensor(zeros: [1, 77, 8]), pooled: nil)
        var mask = [Float](repeating: 0, count: 16 * 16)
        for y in 4..<6 { for x in 2..<13 { mask[y * 16 + x] = 0.5 } }
        entry.mask = Tensor(shape: [1, 16, 16], scalars: mask)
        entry.maskStrength = 2
        entry.strength = 1.5
        let backend = try #require(NodeHarness.backend)
        let sides = CFGGuider.resolveRegions([Conditioning([entry]), Conditioning([])], height: 16, width: 16,
                                             sampling: ModelSampling(), backend: backend)
        let run = try #require(CFGGuider.run(sides[0][0], positive: true, sigma: 1, shape: [1, 4, 16, 16]))
        #expect(run.area == nil && run.mult.count == 4 * 256)
        #expect(run.mult[4 * 16 + 2] == 1.5 && run.mult[3 * 256 + 5 * 16 + 12] == 1.5 && run.mult[0] == 0)

        entry.setAreaToBounds = true
        let bounded = CFGGuider.resolveRegions([Conditioning([entry]), Conditioning([])], height: 16, width: 16,
                                               sampling: ModelSampling(), backend: backend)
        #expect(bounded[0][0].area == [8, 11, 4, 2])
        let boundedRun = try #require(CFGGuider.run(bounded[0][0], positive: true, sigma: 1, shape: [1, 4, 16, 16]))
        #expect(boundedRun.area == [8, 11, 4, 2] && boundedRun.mult.count == 4 * 8 * 11)
        #expect(boundedRun.mult[0] == 1.5 && boundedRun.mult[2 * 11] == 0)

        // A mask at another size is resized to the latent.
        entry.setAreaToBounds = false
        entry.mask = Tensor(shape: [1, 2, 2], scalars: [1, 1, 1, 1])
        let resized = CFGGuider.resolveRegions([Conditioning([entry]), Conditioning([])], height: 6, width: 4,
                                               sampling: ModelSampling(), backend: backend)
        #expect(resized[0][0].mask?.shape == [1, 6, 4] && resized[0][0].mask?.scalars.allSatisfy { $0 == 1 } == true)
    }

    /// A timestep range drops the entry outside its σ window; an area's inner edges are feathered over a quarter of
    /// its size (at most 8 cells), its edges on the latent's border are not.
    @Test func rangesAndFeathering() throws {
        var entry = Conditioning.Entry(Tensor(zeros: [1, 77, 8]), pooled: nil)
        entry.startPercent = 0.5
        entry.endPercent = 0.9
        entry.area = .latent(height: 8, width: 16, y: 8, x: 0)
        let backend = try #require(NodeHarness.backend)
        let sampling = ModelSampling()
        let resolved = CFGGuider.resolveRegions([Conditioning([entry]), Conditioning([])], height: 16, width: 16,
                                                sampling: sampling, backend: backend)[0][0]
        let start = Float(sampling.percentToSigma(0.5)), end = Float(sampling.percentToSigma(0.9))
        #expect(CFGGuider.run(resolved, positive: true, sigma: start * 1.01, shape: [1, 1, 16, 16]) == nil)
        #expect(CFGGuider.run(resolved, positive: true, sigma: end * 0.99, shape: [1, 1, 16, 16]) == nil)
        let run = try #require(CFGGuider.run(resolved, positive: true, sigma: (start + end) / 2, shape: [1, 1, 16, 16]))
        // Rows 0 and 1 of the 8-row area are inner edges (y = 8 ≠ 0): 1/2 and 2/2; its bottom is the latent's edge.
        #expect(run.mult[0] == 0.5 && run.mult[16] == 1 && run.mult[7 * 16] == 1)
    }

    /// The nodes' outputs: combine concatenates the entry lists, average and concat mix tokens, zero-out zeros.
    @Test func nodesEditTheEntries() throws {
        let harness = try NodeHarness()
        var nodes = try Self.workflow("area")
        nodes["40"] = #"{"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["17", 0]}}"#
        nodes["41"] = #"{"class_type": "CaptureConditioning", "inputs": {"conditioning": ["17", 0]}}"#
        nodes["42"] = #"{"class_type": "CaptureConditioning", "inputs": {"conditioning": ["40", 0]}}"#
        nodes["43"] = #"{"class_type": "CaptureConditioning", "inputs": {"conditioning": ["21", 0]}}"#
        let events = Events()
        let outcome = try harness.run(KSamplerNodeTests.json(nodes), events: events)
        try #require(outcome.status == .success, "\(String(describing: events.failure))")
        let combined = try #require(harness.captured["41"])
        #expect(combined.entries.count == 3)
        #expect(combined.entries[1].area == ConditioningArea.latent(height: 8, width: 16, y: 0, x: 0))
        #expect(combined.entries[1].strength == 0.8)
        #expect(combined.entries[2].area == ConditioningArea.percentage(height: 0.5, width: 0.5, y: 0.5, x: 0.25))
        #expect(combined.entries[2].startPercent == 0.3 && combined.entries[2].endPercent == 0.8)
        let zeroed = try #require(harness.captured["42"])
        for entry in zeroed.entries {
            let zeros = entry.cond.scalars.allSatisfy { $0 == 0 }
            #expect(zeros)
        }
        let concatenated = try #require(harness.captured["43"])
        #expect(concatenated.entries[0].cond.shape == [1, 154, combined.entries[0].cond.shape[2]])
    }
}
