import LoomTestSupport
import Foundation
import Testing
@testable import Checkpoints

/// SD1.x detection against every layout `make_checkpoint.py sd15` writes: real files for the tiny and
/// reduced presets, and `--list` tables (no file written) for the rest.
@Suite struct ModelDetectionTests {
    /// A generator shape: channel multipliers, res blocks and transformer depth per level, middle depth.
    struct Layout: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var mult: [Int]
        var resBlocks: [Int]
        var depth: [Int]
        var middle: Int

        var testDescription: String { arguments.joined(separator: " ") }

        /// The configuration ComfyUI's conventions give for this layout.
        var expected: SD1UNetConfiguration {
            SD1UNetConfiguration(
                channelMult: mult, numResBlocks: resBlocks,
                transformerDepth: mult.indices.flatMap { Array(repeating: depth[$0], count: resBlocks[$0]) },
                transformerDepthOutput: mult.indices.flatMap { Array(repeating: depth[$0], count: resBlocks[$0] + 1) },  // mirror order
                transformerDepthMiddle: middle)
        }
    }

    static let layouts: [Layout] = [
        Layout(arguments: ["--variant", "full"], mult: [1, 2, 4, 4], resBlocks: [2, 2, 2, 2], depth: [1, 1, 1, 0], middle: 1),
        Layout(arguments: ["--variant", "reduced"], mult: [1, 2], resBlocks: [1, 1], depth: [1, 0], middle: 1),
        Layout(arguments: ["--variant", "tiny"], mult: [1], resBlocks: [1], depth: [1], middle: 1),
        Layout(arguments: ["--channel-mult", "1,2,4", "--num-res-blocks", "1", "--transformer-depth", "1,1,0"],
               mult: [1, 2, 4], resBlocks: [1, 1, 1], depth: [1, 1, 0], middle: 1),
        Layout(arguments: ["--channel-mult", "1,2", "--num-res-blocks", "2,1", "--transformer-depth", "2,1", "--middle-depth", "2"],
               mult: [1, 2], resBlocks: [2, 1], depth: [2, 1], middle: 2),
        Layout(arguments: ["--channel-mult", "1,3", "--num-res-blocks", "1", "--transformer-depth", "0,1", "--middle-depth", "-1"],
               mult: [1, 3], resBlocks: [1, 1], depth: [0, 1], middle: -1),
        Layout(arguments: ["--channel-mult", "1", "--num-res-blocks", "1", "--transformer-depth", "1", "--middle-depth", "-2"],
               mult: [1], resBlocks: [1], depth: [1], middle: -2),
        Layout(arguments: ["--variant", "tiny", "--dtype", "bf16", "--no-extras"], mult: [1], resBlocks: [1], depth: [1], middle: 1),
        Layout(arguments: ["--channel-mult", "1,2,4,4,4", "--num-res-blocks", "3,1,2,1,1", "--transformer-depth", "1,0,3,0,2",
                           "--middle-depth", "3"],
               mult: [1, 2, 4, 4, 4], resBlocks: [3, 1, 2, 1, 1], depth: [1, 0, 3, 0, 2], middle: 3),
    ]

    @Test(arguments: layouts)
    func detectsEveryGeneratorLayout(_ layout: Layout) throws {
        let shapes = StateDictShapes(try ModelFixtures.table("sd15", layout.arguments))
        guard case let .sd1(config) = try ModelDetection.detect(shapes) else { return }
        #expect(config.unet == layout.expected)
        #expect(config.vae == .sd1)
        #expect(config.clip == .vitL14)
        let report = config.keyReport(shapes)
        #expect(report.isClean, "\(report.summary())")
        let extras = !layout.arguments.contains("--no-extras")
        #expect(report.ignored.count == (extras ? 13 : 0))
        for component in SD1CheckpointConfiguration.Component.allCases {
            #expect(config.keyReport(shapes, component: component).isClean)
        }
    }

    @Test func fullLayoutIsTheReleasedSD15() throws {
        let shapes = StateDictShapes(try ModelFixtures.table("sd15", ["--variant", "full"]))
        #expect(try ModelDetection.detect(shapes) == .sd1(SD1CheckpointConfiguration(unet: .sd15, vae: .sd1, clip: .vitL14)))
        #expect(SD1UNetConfiguration.sd15.attentionLevels == [0, 1, 2])
        let parameters = SD1UNetConfiguration.sd15.expectedKeys().values.reduce(0) { $0 + $1.reduce(1, *) }
        #expect(parameters == 859_520_964)
    }

    @Test func detectsTheTinyFile() throws {
        let file = try SafetensorsFile(path: try ModelFixtures.tiny())
        #expect(file.metadata["variant"] == "tiny")
        let detected = try ModelDetection.detect(file)
        #expect(detected == .sd1(SD1CheckpointConfiguration(unet: Self.layouts[2].expected, vae: .sd1, clip: .vitL14)))
        guard case let .sd1(config) = detected else { return }
        let report = config.keyReport(StateDictShapes(file))
        #expect(report.isClean, "\(report.summary())")
        #expect(report.ignored.contains("betas") && report.ignored.contains("cond_stage_model.transformer.text_model.embeddings.position_ids"))
        #expect(config.unet.attentionLevels == [0])
        // The configuration round-trips through JSON.
        let json = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(SD1CheckpointConfiguration.self, from: json) == config)
    }

    @Test func detectsTheReducedFile() throws {
        let file = try SafetensorsFile(path: try ModelFixtures.reduced())
        let detected = try ModelDetection.detect(file)
        #expect(detected == .sd1(SD1CheckpointConfiguration(unet: Self.layouts[1].expected, vae: .sd1, clip: .vitL14)))
        guard case let .sd1(config) = detected else { return }
        #expect(config.unet.transformerDepth == [1, 0] && config.unet.transformerDepthOutput == [1, 1, 0, 0])
        #expect(config.keyReport(StateDictShapes(file)).isClean)
    }

    @Test func oldCLIPLayoutWithoutTextModelIsRemapped() throws {
        let table = try ModelFixtures.table("sd15", ["--variant", "tiny"])
        var old: [String: [Int]] = [:]
        for (key, shape) in table {
            old[key.replacingOccurrences(of: "cond_stage_model.transformer.text_model.", with: "cond_stage_model.transformer.")] = shape
        }
        let shapes = StateDictShapes(old)
        guard case let .sd1(config) = try ModelDetection.detect(shapes) else { return }
        #expect(config.clip == .vitL14)
        #expect(config.keyReport(shapes).isClean)
    }

    // MARK: unrecognised checkpoints

    private func unrecognisedMessage(_ shapes: [String: [Int]]) -> String? {
        do {
            _ = try ModelDetection.detect(StateDictShapes(shapes, source: "/models/x.safetensors"))
            Issue.record("detected a model")
            return nil
        } catch {
            #expect(error.code == .unrecognisedModel)
            #expect(error.path == "/models/x.safetensors")
            return error.description
        }
    }

    @Test func vaeOnlyIsReportedWithItsKeyFamily() throws {
        let vae = try ModelFixtures.table("sd15", ["--variant", "tiny"]).filter { $0.key.hasPrefix("first_stage_model.") }
        let message = try #require(unrecognisedMessage(vae))
        #expect(message.contains("no UNet under model.diffusion_model."))
        #expect(message.contains("first_stage_model.* (\(vae.count))"), "\(message)")
    }

    /// Every SVD layout `make_checkpoint.py svd` writes is recognised as SVD with its three components; one without
    /// its image tower is reported as such.
    @Test(arguments: ["tiny", "reduced", "full"])
    func svdIsDetected(_ variant: String) throws {
        let svd = try ModelFixtures.table("svd", ["--variant", variant])
        guard case .svd(let configuration) = try ModelDetection.detect(StateDictShapes(svd)) else {
            Issue.record("\(variant) SVD not detected as SVD")
            return
        }
        #expect(configuration.vae == .svd)
        #expect(configuration.clipVision == .vitH14)
        #expect(configuration.unet.inChannels == 8 && configuration.unet.contextDim == 1024)
        let noTower = svd.filter { !$0.key.hasPrefix("conditioner.") }
        #expect(try #require(unrecognisedMessage(noTower)).contains("no CLIP vision tower"))
        // SVD-XT "image decoder" files carry the plain image decoder: detected with a non-temporal VAE.
        let imageDecoder = svd.filter { entry in
            !(entry.key.hasPrefix("first_stage_model.decoder.")
              && (entry.key.contains(".time_stack.") || entry.key.hasSuffix(".mix_factor") || entry.key.contains(".time_mix_conv.")))
        }
        guard case .svd(let plain) = try ModelDetection.detect(StateDictShapes(imageDecoder)) else {
            Issue.record("\(variant) SVD with an image decoder not detected as SVD")
            return
        }
        #expect(!plain.vae.temporalDecoder && plain.vae.videoKernelSize == nil)
    }

    @Test func randomKeysAreReported() throws {
        let message = try #require(unrecognisedMessage(["foo.weight": [3], "bar.baz.bias": [1], "unet.conv.weight": [4, 4]]))
        #expect(message.contains("3 keys"))
        #expect(message.contains("foo.* (1)") && message.contains("unet.* (1)"))
        #expect(try #require(unrecognisedMessage([:])).contains("0 keys: none"))
    }

    @Test func sd1UNetWithoutCLIPIsReported() throws {
        let noCLIP = try ModelFixtures.table("sd15", ["--variant", "tiny"]).filter { !$0.key.hasPrefix("cond_stage_model.") }
        #expect(try #require(unrecognisedMessage(noCLIP)).contains("no CLIP text model"))
    }

    @Test func otherModelChannelsAreNotSD1() throws {
        var table = try ModelFixtures.table("sd15", ["--variant", "tiny"])
        table["model.diffusion_model.input_blocks.0.0.weight"] = [256, 4, 3, 3]
        #expect(try #require(unrecognisedMessage(table)).contains("model_channels 256 (SD1.x: 320)"))
    }
}
