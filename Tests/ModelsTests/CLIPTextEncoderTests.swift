import LoomTestSupport
import Checkpoints
import Foundation
import Models
import Testing
import TensorCore
import TensorNN
import Tokenizers

/// CLIP-L parity with ComfyUI 0.3.64 on the reduced seed-0 checkpoint (recipes:
/// ../shared/fixtures/comfy_sd15_components_s0/manifest.json "clip", and comfy_sd15_reduced_s0's
/// "conditioning"). Tolerance: 1e-4 max absolute difference (issue 3).
@Suite("CLIP text encoder parity with ComfyUI", .serialized)
struct CLIPTextEncoderTests {
    static let tolerance: Float = 1e-4

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var prompt: String
        var stopAtClipLayer: Int?
        var cond: String
        var pooled: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let clip = ModelFixtures.components.appendingPathComponent("clip").path + "/"
        let txt2img = ModelFixtures.txt2img.path + "/"
        let plain = "a photograph of an astronaut riding a horse"
        return [
            Case(name: "plain", prompt: plain, cond: clip + "plain_cond.npy", pooled: clip + "plain_pooled.npy"),
            Case(name: "weighted", prompt: "(masterpiece:1.3), ((detailed eyes)), [blurry] background, a \\(literal\\) castle",
                 cond: clip + "weighted_cond.npy", pooled: clip + "weighted_pooled.npy"),
            Case(name: "long_2_windows",
                 prompt: "a highly detailed digital painting of an ancient castle on a cliff above a stormy sea, dramatic lighting, volumetric clouds, crashing waves, seagulls flying overhead, a lone knight in shining armor standing at the gate, banners waving in the wind, intricate stonework, moss and ivy on the walls, lanterns glowing in the windows, a winding path leading up the hill, trending on artstation, sharp focus, cinematic composition, golden hour",
                 cond: clip + "long_2_windows_cond.npy", pooled: clip + "long_2_windows_pooled.npy"),
            Case(name: "plain_clip_skip2", prompt: plain, stopAtClipLayer: -2,
                 cond: clip + "plain_clip_skip2_cond.npy", pooled: clip + "plain_clip_skip2_pooled.npy"),
            Case(name: "txt2img positive", prompt: plain, cond: txt2img + "cond_positive.npy"),
            Case(name: "txt2img negative", prompt: "blurry, low quality", cond: txt2img + "cond_negative.npy"),
        ]
    }()

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test("conditioning and pooled output match ComfyUI's goldens", arguments: cases)
    func parity(_ c: Case) throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        let encoder = try CLIPTextEncoder(checkpoint: checkpoint)
        let windows = try CLIPTokenizer().tokenizeWithWeights(c.prompt)
        let layer: CLIPOutputLayer = c.stopAtClipLayer.map {
            .stopAtClipLayer($0, layerCount: encoder.configuration.transformer.numLayers)
        } ?? .last
        let (cond, pooled) = encoder.encode(windows, layer: layer, backend: try testBackend())

        let golden = try NumpyArray(contentsOf: c.cond)
        #expect(cond.shape == golden.shape)
        let condDifference = Self.maxAbsDifference(cond.scalars, golden.values)
        print("CLIP parity \(c.name): cond \(cond.shape) max |Δ| = \(condDifference)")
        #expect(condDifference <= Self.tolerance, "cond max |Δ| \(condDifference)")
        if let path = c.pooled {
            let goldenPooled = try NumpyArray(contentsOf: path)
            #expect(pooled.shape == goldenPooled.shape)
            let pooledDifference = Self.maxAbsDifference(pooled.scalars, goldenPooled.values)
            print("CLIP parity \(c.name): pooled max |Δ| = \(pooledDifference)")
            #expect(pooledDifference <= Self.tolerance, "pooled max |Δ| \(pooledDifference)")
        }
    }

    @Test("loading the reduced checkpoint's text encoder: all keys read, position_ids ignored, weights zero-copy f16")
    func loadReport() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        let start = ContinuousClock.now
        let encoder = try CLIPTextEncoder(checkpoint: checkpoint)
        let elapsed = ContinuousClock.now - start
        print("CLIP load (mmap'd file, zero-copy): \(elapsed)")
        #expect(encoder.loadReport.isClean)
        #expect(encoder.loadReport.ignored == ["cond_stage_model.transformer.text_model.embeddings.position_ids"])
        #expect(encoder.loadReport.loaded == 196)
        #expect(encoder.configuration.transformer == .vitL14)
        let expected = encoder.configuration.transformer.expectedKeys(prefix: "")
        #expect(Dictionary(uniqueKeysWithValues: encoder.parameters.map { ($0.key, $0.value.shape) }) == expected)
        let table = try #require(encoder.parameters["embeddings.token_embedding.weight"])
        #expect(table.dtype == .float16 && table.storage.isReadOnly)
    }

    @Test("a checkpoint lacking a layer's key is refused with the key named")
    func missingKey() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        var configuration = CLIPTextEncoderConfiguration()
        configuration.transformer.numLayers = 13
        let error = #expect(throws: ParameterLoadError.self) {
            try CLIPTextEncoder(checkpoint: checkpoint, configuration: configuration)
        }
        let report = try #require(error?.report)
        #expect(report.missing.count == 16)
        #expect(report.missing.contains("cond_stage_model.transformer.text_model.encoder.layers.12.mlp.fc1.weight"))
        #expect(report.unexpected.isEmpty && report.shapeMismatches.isEmpty)
        #expect(error?.description.contains("16 missing: cond_stage_model.transformer.text_model.encoder.layers.12.") == true)
    }

    @Test("a key under the prefix that no parameter reads is refused as unexpected")
    func unexpectedKey() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        var configuration = CLIPTextEncoderConfiguration()
        configuration.transformer.numLayers = 11
        let error = #expect(throws: ParameterLoadError.self) {
            try CLIPTextEncoder(checkpoint: checkpoint, configuration: configuration)
        }
        let report = try #require(error?.report)
        #expect(report.missing.isEmpty)
        #expect(report.unexpected.count == 16)
        #expect(report.unexpected.allSatisfy { $0.hasPrefix("cond_stage_model.transformer.text_model.encoder.layers.11.") })
    }
}
