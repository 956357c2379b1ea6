import Diffusion
import Executor
import Models
import Foundation
import LoomTestSupport
import MediaIO
import NodeLibrary
import TensorCore
import Testing
import Workflow

/// Stable Video Diffusion image-to-video through the executor against the real ComfyUI's run
/// (`comfy_svd_reduced_s0`: ImageOnlyCheckpointLoader → SVD_img2vid_Conditioning → VideoLinearCFGGuidance →
/// KSampler euler_ancestral/karras → VAEDecode), and the platform's whole sample request.
@Suite struct SVDWorkflowTests {
    static let checkpointName = "svd_reduced_s0.safetensors"
    static let fixtures = ModelFixtures.svdFixtures

    func harness() throws -> NodeHarness {
        let svd = try ModelFixtures.svdReduced()
        return try NodeHarness { directories in
            try FileManager.default.createSymbolicLink(atPath: directories.models + "/checkpoints/" + Self.checkpointName,
                                                       withDestinationPath: svd)
            try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent("init_image.png").path,
                                             toPath: directories.input + "/svd_init_64.png")
        }
    }

    /// The golden run's workflow with its tensor-dump nodes replaced by capture nodes ("9": latent, "10": frames).
    static func goldenWorkflow() throws -> [String: Any] {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("manifest.json")))
        var workflow = try #require((manifest as? [String: Any])?["workflow_api"] as? [String: Any])
        workflow["9"] = ["class_type": "CaptureLatent", "inputs": ["samples": ["5", 0]]]
        workflow["10"] = ["class_type": "CaptureImage", "inputs": ["images": ["6", 0]]]
        return workflow
    }

    static func json(_ workflow: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: workflow), as: UTF8.self)
    }

    static func set(_ workflow: inout [String: Any], _ node: String, _ input: String, _ value: Any) {
        var n = workflow[node] as! [String: Any]
        var inputs = n["inputs"] as! [String: Any]
        inputs[input] = value
        n["inputs"] = inputs
        workflow[node] = n
    }

    func run(_ harness: NodeHarness, _ workflow: [String: Any]) throws {
        let events = Events()
        let outcome = try harness.run(try Self.json(workflow), events: events)
        try #require(outcome.status == .success, "the prompt failed: \(String(describing: events.failure))")
    }

    @Test func imageToVideoMatchesComfyUI() throws {
        let harness = try harness()
        try run(harness, try Self.goldenWorkflow())

        let latent = try #require(harness.captured.latent("9"))
        let referenceLatent = try NumpyArray(contentsOf: Self.fixtures.appendingPathComponent("latent_final.npy").path)
        #expect(latent.samples.shape == referenceLatent.shape)
        let latentError = Parity.relativeError(latent.samples.contiguous(as: .float32).scalars, reference: referenceLatent.values)

        let frames = try #require(harness.captured.image("10"))
        let referenceFrames = try NumpyArray(contentsOf: Self.fixtures.appendingPathComponent("frames_float.npy").path)
        #expect(frames.shape == referenceFrames.shape)
        let frameError = Parity.relativeError(frames.contiguous(as: .float32).scalars, reference: referenceFrames.values)

        // SaveImage's 8-bit frames against ComfyUI's PNGs.
        var worstPSNR = Double.infinity
        for index in 0..<4 {
            let ours = try decodeImage([UInt8](Data(contentsOf: URL(fileURLWithPath: harness.directories.output)
                .appendingPathComponent(String(format: "svd/frame_%05d_.png", index + 1)))))
            let theirs = try decodeImage([UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent(String(format: "frame_%02d.png", index)))))
            worstPSNR = min(worstPSNR, Parity.psnr(ours[0].pixels, theirs[0].pixels))
        }
        print("svd img2vid: latent max|Δ|/max|ref| \(latentError), frames \(frameError), worst frame PSNR \(worstPSNR) dB")
        #expect(latentError <= 1e-3)
        #expect(frameError <= 1e-3)
        #expect(worstPSNR >= 45)
        let webp = try FileManager.default.contentsOfDirectory(atPath: harness.directories.output + "/svd").filter { $0.hasSuffix(".webp") }
        #expect(webp.count == 1)
    }

    @Test func conditioningMatchesComfyUIsComponents() throws {
        let harness = try harness()
        var workflow = try Self.goldenWorkflow().filter { ["1", "2", "3"].contains($0.key) }
        workflow["20"] = ["class_type": "CaptureConditioning", "inputs": ["conditioning": ["3", 0]]]
        workflow["21"] = ["class_type": "CaptureConditioning", "inputs": ["conditioning": ["3", 1]]]
        workflow["22"] = ["class_type": "CaptureLatent", "inputs": ["samples": ["3", 2]]]
        try run(harness, workflow)
        let components = Self.fixtures.appendingPathComponent("components")
        let positive = try #require(harness.captured["20"]?.entries.first)
        let embeds = try NumpyArray(contentsOf: components.appendingPathComponent("clip_image_embeds.npy").path)
        #expect(positive.cond.shape == embeds.shape)
        let embedError = Parity.relativeError(positive.cond.contiguous(as: .float32).scalars, reference: embeds.values)
        let concat = try #require(positive.concatLatentImage)
        let concatReference = try NumpyArray(contentsOf: components.appendingPathComponent("concat_latent.npy").path)
        #expect(concat.shape == concatReference.shape)
        let concatError = Parity.relativeError(concat.contiguous(as: .float32).scalars, reference: concatReference.values)
        print("svd conditioning: image embeds \(embedError), concat latent \(concatError)")
        #expect(embedError <= 1e-3 && concatError <= 1e-3)
        #expect(positive.video == VideoConditioning(fps: 6, motionBucketID: 127, augmentationLevel: 0))

        let negative = try #require(harness.captured["21"]?.entries.first)
        #expect(negative.cond.contiguous(as: .float32).scalars.allSatisfy { $0 == 0 })
        #expect(negative.concatLatentImage?.contiguous(as: .float32).scalars.allSatisfy { $0 == 0 } == true)
        let latent = try #require(harness.captured.latent("22"))
        #expect(latent.samples.shape == [4, 4, 8, 8])
    }

    /// The platform's sample request, both stages, as written except for local checkpoint names, smaller sizes,
    /// fewer frames and steps: the PNG, the animated WEBP and the H.264 MP4 are written.
    @Test func platformSampleRequestRunsEndToEnd() throws {
        let url = ModelFixtures.shared.appendingPathComponent("fixtures/platform_sample_request.json")
        let request = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var prompt = (request["prompt"] as? [String: Any]) ?? request
        Self.set(&prompt, "4", "ckpt_name", NodeHarness.checkpointName)
        Self.set(&prompt, "18", "ckpt_name", Self.checkpointName)
        let harness = try harness()
        let validation = try harness.validate(try Self.json(prompt))
        #expect(validation.isValid, "\(String(describing: validation.error))")
        Self.set(&prompt, "5", "width", 64)
        Self.set(&prompt, "5", "height", 96)
        Self.set(&prompt, "3", "steps", 2)
        Self.set(&prompt, "16", "width", 64)
        Self.set(&prompt, "16", "height", 96)
        Self.set(&prompt, "16", "video_frames", 3)
        Self.set(&prompt, "13", "steps", 2)
        try run(harness, prompt)
        let files = try FileManager.default.contentsOfDirectory(atPath: harness.directories.output)
        #expect(files.contains { $0.hasSuffix(".png") && $0.hasPrefix("ComfyUI") })
        let webp = try #require(files.first { $0.hasSuffix(".webp") })
        let animation = try decodeImage([UInt8](Data(contentsOf: URL(fileURLWithPath: harness.directories.output + "/" + webp))))
        #expect(animation.count == 3)
        #expect(files.contains { $0.hasSuffix(".mp4") }, "\(files)")
    }

    /// `CLIPVisionLoader` recognises a standalone file's tower (here the SVD checkpoint's own, under its prefix) and
    /// `CLIPVisionEncode` gives ComfyUI's embedding; a file without a tower is a clear error.
    @Test func clipVisionLoaderAndEncode() throws {
        let svd = try ModelFixtures.svdReduced()
        let harness = try NodeHarness { directories in
            try FileManager.default.createDirectory(atPath: directories.models + "/clip_vision", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: directories.models + "/clip_vision/tower.safetensors",
                                                       withDestinationPath: svd)
            try FileManager.default.createSymbolicLink(atPath: directories.models + "/clip_vision/not_a_tower.safetensors",
                                                       withDestinationPath: try ModelFixtures.reduced())
            try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent("init_image.png").path,
                                             toPath: directories.input + "/svd_init_64.png")
        }
        var captured: (any Sendable)? = nil
        let capture = NodeDefinition(schema: NodeSchema(name: "CaptureVision", category: "testing", isOutputNode: true,
                                                        required: [InputSpec("output", .socket("CLIP_VISION_OUTPUT"))])) { inv in
            harness.captured.record(inv.context.nodeID, try inv.object("output", as: CLIPVisionOutput.self))
            return NodeResult()
        }
        var registry = harness.registry
        registry.register(capture)
        let executor = PromptExecutor(registry: registry)
        func run(_ tower: String) throws -> (ExecutionOutcome, Events) {
            let json = #"{"1": {"class_type": "CLIPVisionLoader", "inputs": {"clip_name": "\#(tower)"}}, "2": {"class_type": "LoadImage", "inputs": {"image": "svd_init_64.png"}}, "3": {"class_type": "CLIPVisionEncode", "inputs": {"clip_vision": ["1", 0], "image": ["2", 0], "crop": "center"}}, "4": {"class_type": "CaptureVision", "inputs": {"output": ["3", 0]}}}"#
            let outcome = PromptValidator(registry: registry).validate(try APIPrompt(json: JSONValue.parse(json)))
            try #require(outcome.isValid, "\(String(describing: outcome.error))")
            let events = Events()
            let request = ExecutionRequest(promptID: "p", prompt: outcome.prompt, outputsToExecute: outcome.goodOutputs, extraPNGInfo: nil)
            return (executor.execute(request, interrupt: InterruptFlag(), emit: events.emit), events)
        }
        let (outcome, events) = try run("tower.safetensors")
        try #require(outcome.status == .success, "\(String(describing: events.failure))")
        captured = harness.captured.value("4")
        let output = try #require(captured as? CLIPVisionOutput)
        let embeds = try NumpyArray(contentsOf: Self.fixtures.appendingPathComponent("components/clip_image_embeds.npy").path)
        let error = Parity.relativeError(output.imageEmbeds.contiguous(as: .float32).scalars, reference: embeds.values)
        #expect(output.imageEmbeds.shape == [1, 1024] && error <= 1e-3, "\(error)")

        let (_, refused) = try run("not_a_tower.safetensors")
        let failure = try #require(refused.failure)
        #expect(failure.nodeID == "1" && failure.exceptionMessage.contains("no CLIP vision model"), "\(failure.exceptionMessage)")
    }

    @Test func wrongCheckpointFamiliesAreClearNodeErrors() throws {
        let harness = try harness()
        let events = Events()
        _ = try harness.run(#"{"1": {"class_type": "ImageOnlyCheckpointLoader", "inputs": {"ckpt_name": "\#(NodeHarness.checkpointName)"}}, "2": {"class_type": "CaptureLatent", "inputs": {"samples": ["5", 0]}}, "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}}, "4": {"class_type": "VideoLinearCFGGuidance", "inputs": {"model": ["1", 0], "min_cfg": 1}}, "5": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 1, "steps": 1, "cfg": 2, "sampler_name": "euler", "scheduler": "karras", "positive": ["6", 0], "negative": ["6", 0], "latent_image": ["3", 0], "denoise": 1}}, "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["7", 1]}}, "7": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "\#(NodeHarness.checkpointName)"}}}"#, events: events)
        let failure = try #require(events.failure)
        #expect(failure.nodeID == "1")
        #expect(failure.exceptionMessage.contains("ImageOnly") == false && failure.exceptionMessage.contains("CheckpointLoaderSimple"))

        let second = Events()
        _ = try harness.run(#"{"7": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "\#(Self.checkpointName)"}}, "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["7", 1]}}, "8": {"class_type": "CaptureConditioning", "inputs": {"conditioning": ["6", 0]}}}"#, events: second)
        let refused = try #require(second.failure)
        #expect(refused.nodeID == "7" && refused.exceptionMessage.contains("ImageOnlyCheckpointLoader"))
    }
}
