import Checkpoints
import Foundation
import LoomTestSupport
import Models
import TensorCore
import TensorCPU
import TensorNN
import Testing

/// Stable Video Diffusion UNet parity with ComfyUI 0.3.64 on the reduced seed-0 SVD checkpoint
/// (../shared/fixtures/comfy_svd_reduced_s0/components/components.json): the raw v-prediction for the input
/// `cat(x/sqrt(σ²+1), concat latent)` at timestep `0.25·ln σ`, 4 frames of one video, for the positive
/// conditioning (CLIP image embedding, init-image latent) and the negative one (zeros for both).
/// Tolerance: max|Δ| / max|ref| ≤ 1e-3.
@Suite("SVD video UNet", .serialized)
struct VideoUNetTests {
    static let tolerance: Float = 1e-3
    static let prefix = VideoUNet.checkpointPrefix

    /// The reduced SVD checkpoint's UNet, loaded once (f16 in the file, f32 after loading).
    static let reduced = Result { () throws -> VideoUNet in
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.svdReduced())
        let configuration = try #require(try VideoUNetConfiguration.detect(in: StateDictShapes(checkpoint), prefix: prefix))
        return try VideoUNet(checkpoint: checkpoint, configuration: configuration)
    }

    static func golden(_ name: String) throws -> Tensor {
        let path = ModelFixtures.svdFixtures.appendingPathComponent("components").appendingPathComponent(name).path
        let array = try NumpyArray(contentsOf: path)
        return Tensor(shape: array.shape, scalars: array.values)
    }

    /// The golden run's σ, frame count and the rest of components.json.
    static func components() throws -> [String: Any] {
        let url = ModelFixtures.svdFixtures.appendingPathComponent("components/components.json")
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// `t[1, ...]` repeated to `count` rows.
    static func repeated(_ t: Tensor, _ count: Int) -> Tensor {
        Tensor.concatenated([Tensor](repeating: t, count: count), dim: 0)
    }

    /// The UNet inputs of the golden run for one conditioning.
    struct Inputs {
        var x: Tensor
        var timesteps: [Float]
        var context: Tensor
        var y: Tensor
    }

    static func inputs(positive: Bool, frames: Int, sigma: Float, backend: some Backend) throws -> Inputs {
        let noise = try golden("unet_x.npy")
        let scaled = backend.affine(noise, scale: 1 / (sigma * sigma + 1).squareRoot(), shift: 0)
        let latent = try golden("concat_latent.npy"), embeds = try golden("clip_image_embeds.npy")
        let concat = repeated(positive ? latent : Tensor(zeros: latent.shape), frames)
        let context = repeated(positive ? embeds : Tensor(zeros: embeds.shape), frames)
        return Inputs(x: Tensor.concatenated([scaled, concat], dim: 1),
                      timesteps: [Float](repeating: 0.25 * logf(sigma), count: frames),
                      context: context, y: repeated(try golden("adm_y.npy"), frames))
    }

    @Test("v for the positive and negative conditioning matches ComfyUI's goldens")
    func parity() throws {
        let unet = try Self.reduced.get()
        let backend = try testBackend()
        let json = try Self.components()
        let sigma = try #require((json["sigma"] as? NSNumber)?.floatValue)
        let frames = try #require(json["frames"] as? Int)
        #expect(frames == 4)
        for positive in [true, false] {
            let input = try Self.inputs(positive: positive, frames: frames, sigma: sigma, backend: backend)
            let start = ContinuousClock.now
            let v = unet(input.x, timesteps: input.timesteps, context: input.context, y: input.y, numFrames: frames,
                         backend: backend)
            let elapsed = ContinuousClock.now - start
            let reference = try Self.golden(positive ? "unet_raw_cond.npy" : "unet_raw_uncond.npy")
            #expect(v.shape == reference.shape)
            let relative = Parity.relativeError(v.scalars, reference: reference.scalars)
            print("SVD UNet parity \(positive ? "cond" : "uncond"): relative error \(relative), one \(input.x.shape) call "
                + "on the reduced model: \(elapsed)")
            #expect(relative <= Self.tolerance, "max|Δ|/max|ref| = \(relative)")
        }
    }

    @Test("cond and uncond batched as two videos give the same as two separate calls")
    func batchedVideos() throws {
        let unet = try Self.reduced.get()
        let backend = try testBackend()
        let sigma: Float = 15.589973449707031, frames = 4
        let cond = try Self.inputs(positive: true, frames: frames, sigma: sigma, backend: backend)
        let uncond = try Self.inputs(positive: false, frames: frames, sigma: sigma, backend: backend)
        let separate = [cond, uncond].map {
            unet($0.x, timesteps: $0.timesteps, context: $0.context, y: $0.y, numFrames: frames, backend: backend)
        }
        let start = ContinuousClock.now
        let batched = unet(Tensor.concatenated([cond.x, uncond.x], dim: 0), timesteps: cond.timesteps + uncond.timesteps,
                           context: Tensor.concatenated([cond.context, uncond.context], dim: 0),
                           y: Tensor.concatenated([cond.y, uncond.y], dim: 0), numFrames: frames, backend: backend)
        let elapsed = ContinuousClock.now - start
        #expect(batched.shape == [8, 4, 8, 8])
        let relative = Parity.relativeError(batched.scalars, reference: Tensor.concatenated(separate, dim: 0).scalars)
        print("SVD UNet batched cond+uncond vs separate: relative difference \(relative), one [8, 8, 8, 8] call: \(elapsed)")
        #expect(relative <= 1e-5, "batched vs separate: \(relative)")
        // Two videos of 4 frames are not one video of 8: the temporal layers must not mix across them.
        let asOne = unet(Tensor.concatenated([cond.x, uncond.x], dim: 0), timesteps: cond.timesteps + uncond.timesteps,
                         context: Tensor.concatenated([cond.context, uncond.context], dim: 0),
                         y: Tensor.concatenated([cond.y, uncond.y], dim: 0), numFrames: 8, backend: backend)
        #expect(Parity.relativeError(asOne.scalars, reference: batched.scalars) > 1e-3)
    }

    @Test("one call of two 4-frame videos at 32×32 on the reduced model (timing, printed)")
    func timing() throws {
        let unet = try Self.reduced.get()
        let backend = try testBackend()
        let count = 8 * 8 * 32 * 32
        let x = Tensor(shape: [8, 8, 32, 32], scalars: (0..<count).map { Float(($0 * 7919) % 1000) / 500 - 1 })
        let context = Self.repeated(try Self.golden("clip_image_embeds.npy"), 8)
        let y = Self.repeated(try Self.golden("adm_y.npy"), 8)
        let timesteps = [Float](repeating: 0.7, count: 8)
        _ = unet(x, timesteps: timesteps, context: context, y: y, numFrames: 4, backend: backend)  // warm-up
        var runs: [Duration] = []
        for _ in 0..<3 {
            let start = ContinuousClock.now
            let v = unet(x, timesteps: timesteps, context: context, y: y, numFrames: 4, backend: backend)
            runs.append(ContinuousClock.now - start)
            #expect(v.shape == [8, 4, 32, 32])
            let finite = v.scalars.allSatisfy { $0.isFinite }
            #expect(finite)
        }
        runs.sort()
        print("SVD UNet timing (\(type(of: backend))): reduced model, 8×8×32×32 (2 videos of 4 frames): median \(runs[1]), "
            + "min \(runs[0]) (\(unet.parameterCount) parameters)")
    }

    @Test("loading the reduced checkpoint reads every UNet key, weights in float32")
    func loadReport() throws {
        let unet = try Self.reduced.get()
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.svdReduced())
        let keys = Set(checkpoint.names.filter { $0.hasPrefix(Self.prefix) })
        #expect(unet.loadReport.isClean, "\(unet.loadReport.summary())")
        #expect(unet.loadReport.loaded == keys.count)
        #expect(Set(unet.parameters.keys.map { Self.prefix + $0 }) == keys)
        #expect(unet.parameters.values.allSatisfy { $0.dtype == .float32 })
        #expect(unet.parameterCount == 271_958_118)
    }

    /// The UNet keys of a `make_checkpoint.py svd` variant.
    static func unetTable(_ variant: String) throws -> [String: [Int]] {
        try ModelFixtures.table("svd", ["--variant", variant]).filter { $0.key.hasPrefix(prefix) }
    }

    @Test("detection reads the tiny, reduced and full SVD layouts")
    func detection() throws {
        // Layouts as make_checkpoint.py documents them; transformerDepthOutput in ComfyUI's mirror order.
        let expected: [String: VideoUNetConfiguration] = [
            "full": .svd,
            "reduced": VideoUNetConfiguration(channelMult: [1, 2], numResBlocks: [6, 2],
                                              transformerDepthOutput: [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]),
            "tiny": VideoUNetConfiguration(channelMult: [1], numResBlocks: [8],
                                           transformerDepthOutput: [Int](repeating: 0, count: 9), transformerDepthMiddle: -2),
        ]
        for (variant, configuration) in expected {
            let table = try Self.unetTable(variant)
            let detected = try VideoUNetConfiguration.detect(in: table, prefix: Self.prefix)
            #expect(detected == configuration, "\(variant)")
        }
        #expect(VideoUNetConfiguration.svd.channelMult == [1, 2, 4, 4] && VideoUNetConfiguration.svd.heads(channels: 1280) == 20)
        // An image UNet (no temporal layers) is not a video UNet.
        let sd15 = try ModelFixtures.table("sd15", ["--variant", "tiny"])
        #expect(try VideoUNetConfiguration.detect(in: sd15, prefix: Self.prefix) == nil)
        #expect(try VideoUNetConfiguration.detect(in: [:], prefix: Self.prefix) == nil)
    }

    /// Zero-stride placeholders: one float per tensor, so even the full model's table costs nothing.
    static func placeholders(_ table: [String: [Int]]) -> [String: Tensor] {
        table.mapValues { Tensor(zeros: $0.map { _ in 1 }).expanded(to: $0) }
    }

    @Test("the module reads exactly the keys and shapes of each variant", arguments: ["tiny", "reduced", "full"])
    func keysMatchVariant(_ variant: String) throws {
        let table = try Self.unetTable(variant)
        let configuration = try #require(try VideoUNetConfiguration.detect(in: table, prefix: Self.prefix))
        let loader = ParameterLoader(source: Self.placeholders(table), prefix: Self.prefix)
        let unet = try VideoUNet(loader: loader, configuration: configuration)
        #expect(unet.loadReport.isClean, "\(unet.loadReport.summary())")
        #expect(unet.loadReport.loaded == table.count)
        let shapes = Dictionary(uniqueKeysWithValues: table.map { (String($0.key.dropFirst(Self.prefix.count)), $0.value) })
        #expect(unet.parameters.mapValues(\.shape) == shapes)
    }

    @Test("a checkpoint missing a key or with a stray one fails to load, naming the key")
    func missingKey() throws {
        let table = try Self.unetTable("tiny")
        let configuration = try #require(try VideoUNetConfiguration.detect(in: table, prefix: Self.prefix))
        for removed in ["input_blocks.2.1.time_stack.0.ff_in.net.2.weight", "input_blocks.1.0.time_mixer.mix_factor",
                        "label_emb.0.2.bias", "input_blocks.3.0.time_stack.in_layers.2.weight"] {
            var source = Self.placeholders(table)
            #expect(source.removeValue(forKey: Self.prefix + removed) != nil)
            let loader = ParameterLoader(source: source, prefix: Self.prefix)
            let error = #expect(throws: ParameterLoadError.self) {
                try VideoUNet(loader: loader, configuration: configuration)
            }
            #expect(error?.report.missing == [Self.prefix + removed])
            #expect(error?.description.contains(Self.prefix + removed) == true)
        }
        var source = Self.placeholders(table)
        source[Self.prefix + "input_blocks.1.1.time_stack.0.extra.weight"] = Tensor(zeros: [1])
        let error = #expect(throws: ParameterLoadError.self) {
            try VideoUNet(loader: ParameterLoader(source: source, prefix: Self.prefix), configuration: configuration)
        }
        #expect(error?.report.unexpected == [Self.prefix + "input_blocks.1.1.time_stack.0.extra.weight"])
    }

    @Test("configurations the network cannot build are refused")
    func unsupportedConfigurations() {
        var noCross = VideoUNetConfiguration.svd
        noCross.disableTemporalCrossAttention = true
        var evenKernel = VideoUNetConfiguration.svd
        evenKernel.videoKernelSize = [2, 1, 1]
        var oddHeads = VideoUNetConfiguration.svd
        oddHeads.numHeadChannels = 48
        for configuration in [noCross, evenKernel, oddHeads] {
            let loader = ParameterLoader(source: [String: Tensor](), prefix: Self.prefix)
            #expect(throws: CheckpointError.self) { try VideoUNet(loader: loader, configuration: configuration) }
        }
    }

    @Test("the configuration round-trips through JSON with ComfyUI's merge strategy name")
    func codable() throws {
        let data = try JSONEncoder().encode(VideoUNetConfiguration.svd)
        #expect(String(decoding: data, as: UTF8.self).contains("\"learned_with_images\""))
        #expect(try JSONDecoder().decode(VideoUNetConfiguration.self, from: data) == .svd)
    }
}
