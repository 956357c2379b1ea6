import LoomTestSupport
import Diffusion
import Executor
import Foundation
import NodeLibrary
import Testing
import Workflow

/// The SD1.x text nodes end to end through the validator and executor on the CPU backend, against
/// ComfyUI's goldens for the reduced seed-0 checkpoint.
@Suite(.serialized) struct TextEncodeNodeTests {
    static let positive = "a photograph of an astronaut riding a horse"
    static let negative = "blurry, low quality"

    func golden(_ relative: String, in folder: URL = ModelFixtures.txt2img) throws -> NumpyArray {
        try NumpyArray(contentsOf: folder.appendingPathComponent(relative).path)
    }

    @Test func promptMatchesComfyUIConditioning() throws {
        let harness = try NodeHarness()
        let outcome = try harness.run(NodeHarness.prompt([Self.positive, Self.negative]))
        #expect(outcome.status == .success)
        let positive = try #require(harness.captured["20"]?.entries.first)
        let negative = try #require(harness.captured["21"]?.entries.first)
        #expect(harness.captured["20"]?.entries.count == 1)
        let dPositive = try maxDifference(positive.cond, golden("cond_positive.npy"))
        let dNegative = try maxDifference(negative.cond, golden("cond_negative.npy"))
        let dPooled = try maxDifference(try #require(positive.pooled), golden("clip/plain_pooled.npy", in: ModelFixtures.components))
        print("CLIPTextEncode parity: positive \(dPositive), negative \(dNegative), pooled \(dPooled)")
        #expect(dPositive <= 1e-4)
        #expect(dNegative <= 1e-4)
        #expect(dPooled <= 1e-4)
    }

    @Test func clipSetLastLayerMatchesClipSkip2Golden() throws {
        let harness = try NodeHarness()
        let outcome = try harness.run(NodeHarness.prompt([Self.positive], stopAtClipLayer: -2))
        #expect(outcome.status == .success)
        let entry = try #require(harness.captured["20"]?.entries.first)
        let dCond = try maxDifference(entry.cond, golden("clip/plain_clip_skip2_cond.npy", in: ModelFixtures.components))
        let dPooled = try maxDifference(try #require(entry.pooled), golden("clip/plain_clip_skip2_pooled.npy", in: ModelFixtures.components))
        print("CLIPSetLastLayer -2 parity: cond \(dCond), pooled \(dPooled)")
        #expect(dCond <= 1e-4)
        #expect(dPooled <= 1e-4)
        // Setting the layer copies the handle: one encoder load for the checkpoint.
        #expect(harness.environment.models.stats.loads == 2)  // checkpoint + CLIP encoder
    }

    @Test func secondRunOfTheSamePromptIsFullyCached() throws {
        let harness = try NodeHarness()
        let json = NodeHarness.prompt([Self.positive])
        try harness.run(json)
        let events = Events()
        let outcome = try harness.run(json, events: events)
        #expect(outcome.status == .success)
        #expect(events.executed.isEmpty)
        #expect(Set(events.cached) == ["4", "10", "20"])
    }

    @Test func modelCacheKeepsTheEncoderAcrossPrompts() throws {
        let harness = try NodeHarness()
        let models = harness.environment.models
        try harness.run(NodeHarness.prompt([Self.positive]))
        let first = models.stats
        #expect(first.loads == 2)
        #expect(first.entryCount == 2)
        #expect(first.residentBytes > 100_000_000)  // CLIP-L in f16: ~246 MB

        // Different text: the loader's output is reused by the executor, the encoder by the model cache.
        let events = Events()
        try harness.run(NodeHarness.prompt(["a red cube"]), events: events)
        #expect(events.executed == ["10", "20"])
        #expect(models.stats.loads == first.loads)
        #expect(models.stats.hits > first.hits)

        // Without the executor's cache the loader runs again and still loads nothing.
        harness.executor.clearCache()
        let again = Events()
        try harness.run(NodeHarness.prompt(["a blue sphere"]), events: again)
        #expect(again.executed.contains("4"))
        #expect(models.stats.loads == first.loads)
    }

    @Test func removeAllEmptiesTheModelCache() throws {
        let harness = try NodeHarness()
        let models = harness.environment.models
        try harness.run(NodeHarness.prompt([Self.positive]))
        #expect(models.stats.entryCount == 2)
        harness.environment.freeModels()
        #expect(models.stats.entryCount == 0)
        #expect(models.stats.residentBytes == 0)
        harness.executor.clearCache()
        try harness.run(NodeHarness.prompt([Self.positive]))
        #expect(models.stats.loads == 4)
    }

    @Test func unknownCheckpointNameFailsValidation() throws {
        let harness = try NodeHarness()
        let outcome = try harness.validate(NodeHarness.prompt([Self.positive], checkpoint: "missing.safetensors"))
        #expect(!outcome.isValid)
        let errors = JSONValue.object(outcome.nodeErrors).jsonString()
        #expect(errors.contains("value_not_in_list"))
        #expect(errors.contains("missing.safetensors"))
    }

    @Test func clipSetLastLayerRangeIsValidated() throws {
        let harness = try NodeHarness()
        let outcome = try harness.validate(NodeHarness.prompt([Self.positive], stopAtClipLayer: 0))
        #expect(!outcome.isValid)
        #expect(JSONValue.object(outcome.nodeErrors).jsonString().contains("value_bigger_than_max"))
    }

    @Test func garbageAndForeignFilesFailWithAClearError() throws {
        let harness = try NodeHarness { dirs in
            let checkpoints = dirs.models + "/checkpoints/"
            try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: checkpoints + "garbage.safetensors"))
            try writeSafetensors(["lm_head.weight": [1, 2, 3, 4]], to: checkpoints + "foreign.safetensors")
        }
        let garbage = Events()
        let failed = try harness.run(NodeHarness.prompt([Self.positive], checkpoint: "garbage.safetensors"), events: garbage)
        #expect(failed.status == .failed)
        let g = try #require(garbage.failure)
        #expect(g.nodeID == "4")
        #expect(g.exceptionMessage.contains("garbage.safetensors"))
        #expect(g.exceptionMessage.contains("not a readable safetensors file"))

        let foreign = Events()
        try harness.run(NodeHarness.prompt([Self.positive], checkpoint: "foreign.safetensors"), events: foreign)
        let f = try #require(foreign.failure)
        #expect(f.nodeID == "4")
        #expect(f.exceptionType == "loom.ModelLoadError.unsupportedModel")
        #expect(f.exceptionMessage.contains("not a supported checkpoint"))
        #expect(f.exceptionMessage.contains("lm_head"))
    }

    @Test func clipLoaderReadsATextEncoderFile() throws {
        let harness = try NodeHarness { dirs in
            // A checkpoint holds a CLIP-L under a prefix CLIPLoader accepts; a foreign file holds none.
            try FileManager.default.createSymbolicLink(atPath: dirs.models + "/text_encoders/clip_l.safetensors",
                                                       withDestinationPath: try ModelFixtures.reduced())
            try writeSafetensors(["encoder.block.0.weight": [1, 2]], to: dirs.models + "/text_encoders/t5.safetensors")
        }
        func prompt(_ name: String, type: String = "stable_diffusion") -> String {
            """
            {"1": {"class_type": "CLIPLoader", "inputs": {"clip_name": "\(name)", "type": "\(type)", "device": "default"}},
             "10": {"class_type": "CLIPTextEncode", "inputs": {"text": "\(Self.positive)", "clip": ["1", 0]}},
             "20": {"class_type": "CaptureConditioning", "inputs": {"conditioning": ["10", 0]}}}
            """
        }
        #expect(try harness.run(prompt("clip_l.safetensors")).status == .success)
        let entry = try #require(harness.captured["20"]?.entries.first)
        #expect(try maxDifference(entry.cond, golden("cond_positive.npy")) <= 1e-4)

        let foreign = Events()
        try harness.run(prompt("t5.safetensors"), events: foreign)
        #expect(foreign.failure?.exceptionMessage.contains("not a CLIP-L text encoder") == true)

        let otherType = Events()
        try harness.run(prompt("clip_l.safetensors", type: "sd3"), events: otherType)
        #expect(otherType.failure?.exceptionMessage.contains("'sd3' is not supported") == true)
    }
}

/// Writes a float32 safetensors file of 1-D tensors.
func writeSafetensors(_ tensors: [String: [Float]], to path: String) throws {
    var header: [String] = []
    var data = Data()
    for (name, values) in tensors.sorted(by: { $0.key < $1.key }) {
        let start = data.count
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        header.append(#""\#(name)": {"dtype": "F32", "shape": [\#(values.count)], "data_offsets": [\#(start), \#(data.count)]}"#)
    }
    var json = Data(("{" + header.joined(separator: ", ") + "}").utf8)
    while json.count % 8 != 0 { json.append(0x20) }
    var file = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(json)
    file.append(data)
    try file.write(to: URL(fileURLWithPath: path))
}
