import Checkpoints
import Diffusion
import Executor
import Foundation
import LoomTestSupport
import MediaIO
import Models
import NodeLibrary
import TensorCore
import Testing
import Workflow

/// KSampler, KSamplerAdvanced, the latent and VAE nodes end to end through the validator and executor
/// on the CPU backend with the reduced seed-0 checkpoint: ComfyUI's txt2img goldens, then the
/// semantics that have no golden (img2img, two-stage sampling, batch indices, cfg 1, progress).
@Suite(.serialized) struct KSamplerNodeTests {
    /// One harness (and model cache) for the suite: the UNet and VAE load once.
    static let harness: NodeHarness? = try? NodeHarness()

    func harness() throws -> NodeHarness {
        try #require(Self.harness, "the node harness (reduced checkpoint) could not be set up")
    }

    /// The txt2img graph of the goldens as node JSON fragments, with `KSampler` inputs overridable.
    static func graph(width: Int = 64, height: Int = 64, batch: Int = 1, seed: UInt64 = 42, steps: Int = 4, cfg: Double = 7,
                      sampler: String = "euler", scheduler: String = "normal", denoise: Double = 1,
                      negative: String = "blurry, low quality") -> [String: String] {
        [
            "4": #"{"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "\#(NodeHarness.checkpointName)"}}"#,
            "6": #"{"class_type": "CLIPTextEncode", "inputs": {"text": "a photograph of an astronaut riding a horse", "clip": ["4", 1]}}"#,
            "7": #"{"class_type": "CLIPTextEncode", "inputs": {"text": \#(NodeHarness.quoted(negative)), "clip": ["4", 1]}}"#,
            "5": #"{"class_type": "EmptyLatentImage", "inputs": {"width": \#(width), "height": \#(height), "batch_size": \#(batch)}}"#,
            "3": #"{"class_type": "KSampler", "inputs": {"seed": \#(seed), "steps": \#(steps), "cfg": \#(cfg), "sampler_name": "\#(sampler)", "scheduler": "\#(scheduler)", "denoise": \#(denoise), "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}}"#,
            "30": #"{"class_type": "CaptureLatent", "inputs": {"samples": ["3", 0]}}"#,
        ]
    }

    static func json(_ nodes: [String: String]) -> String {
        "{" + nodes.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ",\n") + "}"
    }

    /// Runs the graph and returns what the capture nodes saw.
    func run(_ nodes: [String: String], events: Events = Events()) throws -> NodeHarness {
        let harness = try harness()
        let outcome = try harness.run(Self.json(nodes), events: events)
        try #require(outcome.status == .success, "the prompt failed: \(String(describing: events.failure))")
        return harness
    }

    static func quantized(_ image: Tensor) -> [UInt8] {
        image.contiguous(as: .float32).scalars.map(Tensor.quantize)
    }

    // MARK: - ComfyUI's goldens

    @Test(arguments: try Parity.txt2imgCases())
    func txt2imgMatchesComfyUI(_ testCase: Parity.Txt2ImgCase) throws {
        var nodes = Self.graph(width: testCase.width, height: testCase.height, sampler: testCase.sampler,
                               scheduler: testCase.scheduler)
        nodes["8"] = #"{"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}"#
        nodes["31"] = #"{"class_type": "CaptureImage", "inputs": {"images": ["8", 0]}}"#
        let harness = try run(nodes)
        let latent = try #require(harness.captured.latent("30"))
        let reference = try NumpyArray(contentsOf: testCase.folder.appendingPathComponent("latent.npy").path)
        #expect(latent.samples.shape == reference.shape)
        let latentError = Parity.relativeError(latent.samples.contiguous(as: .float32).scalars, reference: reference.values)

        let image = try #require(harness.captured.image("31"))
        let png = try decodeImage([UInt8](Data(contentsOf: testCase.folder.appendingPathComponent("image.png"))))
        let theirs = Tensor.image(frames: png)
        #expect(image.shape == [1, testCase.height, testCase.width, 3])
        let psnr = Parity.psnr(Self.quantized(image), Self.quantized(theirs.narrowed(dim: 3, start: 0, length: 3)))
        print("txt2img \(testCase): latent max|Δ|/max|ref| \(latentError), image PSNR \(psnr) dB")
        #expect(latentError <= 1e-3)
        #expect(psnr >= 45)
    }

    // MARK: - Semantics without goldens

    /// `--bf16-unet`: the loader hands out a bfloat16 UNet, whose products round their inputs to bfloat16, so the
    /// result differs from the float32 run, but only by bfloat16 rounding.
    @Test func bfloat16UNetLandsNearTheFloat32Result() throws {
        let reference = try #require(run(Self.graph(steps: 3)).captured.latent("30")).samples.scalars
        let harness = try NodeHarness(unetWeightType: .bfloat16)
        let outcome = try harness.run(Self.json(Self.graph(steps: 3)))
        try #require(outcome.status == .success)
        let bf16 = try #require(harness.captured.latent("30")).samples.scalars
        let scale = reference.map(abs).max() ?? 1
        let worst = zip(bf16, reference).map { abs($0 - $1) }.max() ?? 0
        #expect(worst > 0, "the bfloat16 UNet gave the float32 result bit for bit: it did not run in bfloat16")
        #expect(worst / scale < 0.05, "bfloat16 latent differs by \(worst) (largest value \(scale))")
    }

    @Test func sameSeedSameLatentAndOtherSeedDiffers() throws {
        let a = try #require(run(Self.graph(seed: 7)).captured.latent("30")).samples.scalars
        let b = try #require(run(Self.graph(seed: 7)).captured.latent("30")).samples.scalars
        let c = try #require(run(Self.graph(seed: 8)).captured.latent("30")).samples.scalars
        #expect(a == b)
        #expect(a != c)
        let finite = a.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test func twoStageAdvancedSamplingEqualsOneRun() throws {
        let whole = try #require(run(Self.graph(seed: 3, steps: 6)).captured.latent("30")).samples
        var nodes = Self.graph(seed: 3, steps: 6)
        nodes["3"] = #"{"class_type": "KSamplerAdvanced", "inputs": {"add_noise": "enable", "noise_seed": 3, "steps": 6, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "start_at_step": 0, "end_at_step": 3, "return_with_leftover_noise": "enable", "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}}"#
        nodes["12"] = #"{"class_type": "KSamplerAdvanced", "inputs": {"add_noise": "disable", "noise_seed": 999, "steps": 6, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "start_at_step": 3, "end_at_step": 10000, "return_with_leftover_noise": "disable", "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["3", 0]}}"#
        nodes["30"] = #"{"class_type": "CaptureLatent", "inputs": {"samples": ["12", 0]}}"#
        let staged = try #require(run(nodes).captured.latent("30")).samples
        let error = Parity.relativeError(staged.scalars, reference: whole.scalars)
        print("two-stage vs one run: \(error)")
        #expect(error <= 1e-5)
    }

    @Test func latentFromBatchKeepsEachItemsNoise() throws {
        let batch = try #require(run(Self.graph(batch: 2, seed: 11)).captured.latent("30")).samples
        var nodes = Self.graph(batch: 2, seed: 11)
        nodes["13"] = #"{"class_type": "LatentFromBatch", "inputs": {"samples": ["5", 0], "batch_index": 1, "length": 1}}"#
        nodes["3"] = nodes["3"]!.replacingOccurrences(of: #""latent_image": ["5", 0]"#, with: #""latent_image": ["13", 0]"#)
        let single = try #require(run(nodes).captured.latent("30"))
        #expect(single.batchIndex == [1])
        let second = batch.slice(batch: 1..<2).contiguous().scalars
        let error = Parity.relativeError(single.samples.scalars, reference: second)
        print("LatentFromBatch item 1 vs batch item 1: \(error)")
        #expect(error <= 1e-4)
    }

    @Test func cfgOneIgnoresTheNegativePrompt() throws {
        let a = try #require(run(Self.graph(cfg: 1, negative: "blurry")).captured.latent("30")).samples.scalars
        let b = try #require(run(Self.graph(cfg: 1, negative: "a red car, oil painting")).captured.latent("30")).samples.scalars
        let c = try #require(run(Self.graph(cfg: 1.5, negative: "a red car, oil painting")).captured.latent("30")).samples.scalars
        #expect(a == b)
        #expect(a != c)
    }

    @Test func denoiseZeroReturnsTheInputAndImg2ImgStaysNearIt() throws {
        var nodes = Self.graph(denoise: 0.0)
        nodes["14"] = #"{"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 8421504}}"#
        nodes["15"] = #"{"class_type": "VAEEncode", "inputs": {"pixels": ["14", 0], "vae": ["4", 2]}}"#
        nodes["3"] = nodes["3"]!.replacingOccurrences(of: #""latent_image": ["5", 0]"#, with: #""latent_image": ["15", 0]"#)
        nodes["32"] = #"{"class_type": "CaptureLatent", "inputs": {"samples": ["15", 0]}}"#
        let harness = try run(nodes)
        let encoded = try #require(harness.captured.latent("32")).samples.scalars
        let unchanged = try #require(harness.captured.latent("30")).samples.scalars
        #expect(encoded == unchanged)

        nodes["3"] = nodes["3"]!.replacingOccurrences(of: #""denoise": 0.0"#, with: #""denoise": 0.3"#)
        let light = try #require(run(nodes).captured.latent("30")).samples.scalars
        nodes["3"] = nodes["3"]!.replacingOccurrences(of: #""denoise": 0.3"#, with: #""denoise": 1.0"#)
        let full = try #require(run(nodes).captured.latent("30")).samples.scalars
        let lightChange = Parity.relativeError(light, reference: encoded)
        let fullChange = Parity.relativeError(full, reference: encoded)
        print("img2img change: denoise 0.3 \(lightChange), denoise 1.0 \(fullChange)")
        #expect(light != encoded)
        #expect(lightChange < fullChange)
    }

    @Test func progressIsReportedPerStep() throws {
        let events = Events()
        _ = try run(Self.graph(seed: 5, steps: 3), events: events)
        let progress = events.all.compactMap { event -> [Int]? in
            if case .progress(let node, let value, let max) = event, node == "3" { return [value, max] }
            return nil
        }
        #expect(progress == [[1, 3], [2, 3], [3, 3]])
    }

    @Test func everySamplerAndSchedulerRuns() throws {
        for sampler in SamplerRegistry.builtin.names {
            let latent = try #require(run(Self.graph(seed: 1, steps: 3, sampler: sampler.rawValue)).captured.latent("30"))
            let finite = latent.samples.scalars.allSatisfy { $0.isFinite }
            #expect(finite, "sampler \(sampler.rawValue)")
        }
        for scheduler in SchedulerName.allCases {
            let latent = try #require(run(Self.graph(seed: 1, steps: 3, scheduler: scheduler.rawValue)).captured.latent("30"))
            let finite = latent.samples.scalars.allSatisfy { $0.isFinite }
            #expect(finite, "scheduler \(scheduler.rawValue)")
        }
    }

    @Test func latentNodesKeepComfyUISemantics() throws {
        var nodes = Self.graph()
        nodes["3"] = nil
        nodes["16"] = #"{"class_type": "RepeatLatentBatch", "inputs": {"samples": ["5", 0], "amount": 3}}"#
        nodes["17"] = #"{"class_type": "LatentFromBatch", "inputs": {"samples": ["16", 0], "batch_index": 1, "length": 5}}"#
        nodes["18"] = #"{"class_type": "LatentUpscale", "inputs": {"samples": ["17", 0], "upscale_method": "bislerp", "width": 96, "height": 0, "crop": "disabled"}}"#
        nodes["19"] = #"{"class_type": "LatentUpscaleBy", "inputs": {"samples": ["5", 0], "upscale_method": "nearest-exact", "scale_by": 1.5}}"#
        nodes["30"] = #"{"class_type": "CaptureLatent", "inputs": {"samples": ["17", 0]}}"#
        nodes["33"] = #"{"class_type": "CaptureLatent", "inputs": {"samples": ["18", 0]}}"#
        nodes["34"] = #"{"class_type": "CaptureLatent", "inputs": {"samples": ["19", 0]}}"#
        let harness = try run(nodes)
        let fromBatch = try #require(harness.captured.latent("30"))
        #expect(fromBatch.samples.shape == [2, 4, 8, 8])   // length clipped to what is left
        #expect(fromBatch.batchIndex == [1, 2])
        #expect(try #require(harness.captured.latent("33")).samples.shape == [2, 4, 12, 12])
        #expect(try #require(harness.captured.latent("34")).samples.shape == [1, 4, 12, 12])
    }
    /// The image half of the platform's sample request (nodes 3–9: dpmpp_sde_gpu, karras, an empty negative
    /// prompt) with a local checkpoint: it validates as written, and runs at a reduced size and step count.
    @Test func platformSampleImageHalfValidatesAndRuns() throws {
        let url = ModelFixtures.shared.appendingPathComponent("fixtures/platform_sample_request.json")
        let request = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var prompt = (request["prompt"] as? [String: Any]) ?? request
        prompt = prompt.filter { Int($0.key).map { (3...9).contains($0) } ?? false }
        func set(_ node: String, _ input: String, _ value: Any) {
            var n = prompt[node] as! [String: Any]
            var inputs = n["inputs"] as! [String: Any]
            inputs[input] = value
            n["inputs"] = inputs
            prompt[node] = n
        }
        set("4", "ckpt_name", NodeHarness.checkpointName)
        func json() throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: prompt), as: UTF8.self) }
        let harness = try harness()
        let validation = try harness.validate(try json())
        #expect(validation.isValid, "\(String(describing: validation.error))")
        set("5", "width", 72)
        set("5", "height", 128)
        set("3", "steps", 3)
        let events = Events()
        let outcome = try harness.run(try json(), events: events)
        #expect(outcome.status == .success, "\(String(describing: events.failure))")
        let saved = try FileManager.default.contentsOfDirectory(atPath: harness.directories.output).filter { $0.hasSuffix(".png") }
        #expect(!saved.isEmpty)
    }
    /// `ModelSamplingDiscrete` changes how the network output is read: v-prediction on the same weights gives
    /// another latent, eps through the node gives the plain result.
    @Test func modelSamplingDiscreteSwitchesThePrediction() throws {
        let plain = try #require(run(Self.graph(seed: 9)).captured.latent("30")).samples.scalars
        func patched(_ sampling: String) throws -> [Float] {
            var nodes = Self.graph(seed: 9)
            nodes["40"] = #"{"class_type": "ModelSamplingDiscrete", "inputs": {"model": ["4", 0], "sampling": "\#(sampling)", "zsnr": false}}"#
            nodes["3"] = nodes["3"]!.replacingOccurrences(of: #""model": ["4", 0]"#, with: #""model": ["40", 0]"#)
            return try #require(run(nodes).captured.latent("30")).samples.scalars
        }
        #expect(try patched("eps") == plain)
        let v = try patched("v_prediction")
        #expect(v != plain)
        let finite = v.allSatisfy { $0.isFinite }
        #expect(finite)
        for sampling in ["lcm", "img_to_img"] {
            let other = try patched(sampling)
            #expect(other != plain && other != v && other.allSatisfy { $0.isFinite }, "\(sampling)")
        }
    }
    /// `VAEDecodeTiled` / `VAEEncodeTiled` as nodes: a tile covering the whole image gives the plain result;
    /// small tiles give the right shapes with finite values.
    @Test func tiledVAENodes() throws {
        var nodes = Self.graph(width: 128, height: 96, steps: 2)
        nodes["8"] = #"{"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}"#
        nodes["21"] = #"{"class_type": "VAEDecodeTiled", "inputs": {"samples": ["3", 0], "vae": ["4", 2], "tile_size": 512, "overlap": 64, "temporal_size": 64, "temporal_overlap": 8}}"#
        nodes["22"] = #"{"class_type": "VAEDecodeTiled", "inputs": {"samples": ["3", 0], "vae": ["4", 2], "tile_size": 64, "overlap": 32, "temporal_size": 64, "temporal_overlap": 8}}"#
        nodes["23"] = #"{"class_type": "VAEEncodeTiled", "inputs": {"pixels": ["8", 0], "vae": ["4", 2], "tile_size": 64, "overlap": 16, "temporal_size": 64, "temporal_overlap": 8}}"#
        nodes["31"] = #"{"class_type": "CaptureImage", "inputs": {"images": ["8", 0]}}"#
        nodes["35"] = #"{"class_type": "CaptureImage", "inputs": {"images": ["21", 0]}}"#
        nodes["36"] = #"{"class_type": "CaptureImage", "inputs": {"images": ["22", 0]}}"#
        nodes["37"] = #"{"class_type": "CaptureLatent", "inputs": {"samples": ["23", 0]}}"#
        let harness = try run(nodes)
        let plain = try #require(harness.captured.image("31"))
        let oneTile = try #require(harness.captured.image("35"))
        let small = try #require(harness.captured.image("36"))
        #expect(plain.shape == [1, 96, 128, 3])
        #expect(oneTile.shape == plain.shape && small.shape == plain.shape)
        let error = Parity.relativeError(oneTile.scalars, reference: plain.scalars)
        #expect(error <= 1e-5)
        let encoded = try #require(harness.captured.latent("37")).samples
        #expect(encoded.shape == [1, 4, 12, 16])
        let finite = encoded.scalars.allSatisfy { $0.isFinite } && small.scalars.allSatisfy { $0.isFinite }
        #expect(finite)
    }
    /// Interruption is checked after every step: the sampler stops there and nothing later runs.
    @Test func interruptStopsBetweenSteps() throws {
        let file = try SafetensorsFile(path: try ModelFixtures.reduced())
        guard case .sd1(let configuration) = try ModelDetection.detect(file) else { throw ModelFixtures.Failure(description: "not SD1") }
        let unet = try SD1UNet(checkpoint: file, configuration: configuration.unet)
        let backend = try #require(NodeHarness.backend)
        let conditioning = Conditioning([Conditioning.Entry(Tensor(zeros: [1, 77, 768]), pooled: nil)])
        let settings = KSamplerSettings(seed: 1, steps: 5, cfg: 7, sampler: .eulerAncestral, scheduler: .karras)
        var seen: [Int] = []
        #expect(throws: InterruptedError.self) {
            _ = try KSamplerRun.sample(network: unet, sampling: ModelSampling(), positive: conditioning, negative: conditioning,
                                       latent: Latent(samples: Tensor(zeros: [1, 4, 8, 8])), settings: settings, backend: backend,
                                       progress: { step, total in
                                           seen.append(step)
                                           #expect(total == 5)
                                           if step == 2 { throw InterruptedError() }
                                       })
        }
        #expect(seen == [1, 2])
    }
}
