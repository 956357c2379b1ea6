import LoomTestSupport
import Foundation
import Testing
@testable import Checkpoints

@Suite struct KeyReportTests {
    @Test func reportsMissingUnexpectedMisshapenAndIgnored() {
        let report = KeyReport(
            expected: ["a": [2], "b": [3, 3], "c": [1]],
            found: ["a": [2], "b": [3, 4], "x": [5], "betas": [1000]],
            ignoring: SD1CheckpointConfiguration.isIgnored)
        #expect(report.missing == ["c"])
        #expect(report.unexpected == ["x"])
        #expect(report.shapeMismatches == [.init(key: "b", expected: [3, 3], found: [3, 4])])
        #expect(report.ignored == ["betas"])
        #expect(!report.isClean)
        #expect(report.summary() == "1 missing: c; 1 unexpected: x; 1 with another shape: b [3, 4] (expected [3, 3]); 1 ignored")
    }

    /// A hand-made file with the tiny layout (sparse zeros, so it costs no disk), less one UNet key and
    /// plus one stray key: detection still works and the report names both.
    @Test func handMadeFileWithADeletedAndAnAddedKey() throws {
        let dir = try TestSafetensors.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var table = try ModelFixtures.table("sd15", ["--variant", "tiny", "--no-extras"])
        let deleted = "model.diffusion_model.output_blocks.1.1.transformer_blocks.0.attn2.to_v.weight"
        let deletedVAE = "first_stage_model.decoder.up.2.block.1.conv2.bias"
        #expect(table.removeValue(forKey: deleted) != nil && table.removeValue(forKey: deletedVAE) != nil)
        table["model.diffusion_model.extra_head.weight"] = [4, 4]
        let entries = table.sorted { $0.key < $1.key }.map { TestSafetensors.Entry(name: $0.key, dtype: "F16", shape: $0.value) }
        let url = try TestSafetensors.write(entries, to: dir.appendingPathComponent("edited.safetensors"))

        let file = try SafetensorsFile(path: url.path)
        guard case let .sd1(config) = try ModelDetection.detect(file) else { return }
        let shapes = StateDictShapes(file)
        let unet = config.keyReport(shapes, component: .unet)
        #expect(unet.missing == [deleted])
        #expect(unet.unexpected == ["model.diffusion_model.extra_head.weight"])
        let vae = config.keyReport(shapes, component: .vae)
        #expect(vae.missing == [deletedVAE] && vae.unexpected.isEmpty)
        #expect(config.keyReport(shapes, component: .clip).isClean)
        let whole = config.keyReport(shapes)
        #expect(whole.missing == [deletedVAE, deleted].sorted() && whole.unexpected.count == 1)
        let neighbour = try file.floats(deletedVAE.replacingOccurrences(of: "conv2.bias", with: "conv1.bias"))
        #expect(neighbour.count == 512 && neighbour.allSatisfy { $0 == 0 })  // sparse zeros read back
    }

    @Test func keyRulesAreIdempotent() {
        let rule = SD1CheckpointConfiguration.keyRules[0]
        #expect(rule.apply("cond_stage_model.transformer.embeddings.x") == "cond_stage_model.transformer.text_model.embeddings.x")
        #expect(rule.apply("cond_stage_model.transformer.text_model.embeddings.x") == nil)
        #expect(rule.apply("first_stage_model.x") == nil)
    }
}
