import Foundation
import LoomTestSupport
import Testing
import Workflow

/// The platform's sample request (SD1.x text-to-image, then Stable Video Diffusion image-to-video) through the
/// real executable: over `POST /prompt` with its PNG, animated WEBP and H.264 MP4 served by `/view`, and through the
/// API edition's queue service with the same body (without the `prompt` wrapper) checked by the official SDK.
@Suite(.serialized) struct VideoEndToEndTests {
    static let token = "video-test-token"

    /// The sample's API prompt with local checkpoint names, at a reduced size, frame count and step count.
    static func samplePrompt() throws -> [String: Any] {
        let url = ModelFixtures.shared.appendingPathComponent("fixtures/platform_sample_request.json")
        let request = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var prompt = (request["prompt"] as? [String: Any]) ?? request
        func set(_ node: String, _ input: String, _ value: Any) {
            var n = prompt[node] as! [String: Any]
            var inputs = n["inputs"] as! [String: Any]
            inputs[input] = value
            n["inputs"] = inputs
            prompt[node] = n
        }
        set("4", "ckpt_name", "sd15_reduced_s0.safetensors")
        set("18", "ckpt_name", "svd_reduced_s0.safetensors")
        set("5", "width", 64)
        set("5", "height", 96)
        set("3", "steps", 2)
        set("16", "width", 64)
        set("16", "height", 96)
        set("16", "video_frames", 3)
        set("13", "steps", 2)
        return prompt
    }

    static func startServer(_ scratch: ScratchDirectory) async throws -> LoomProcess {
        let data = scratch.appending("data")
        let checkpoints = data + "/models/checkpoints"
        try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: checkpoints + "/sd15_reduced_s0.safetensors",
                                                   withDestinationPath: try ModelFixtures.reduced())
        try FileManager.default.createSymbolicLink(atPath: checkpoints + "/svd_reduced_s0.safetensors",
                                                   withDestinationPath: try ModelFixtures.svdReduced())
        return try await LoomProcess.start(dataDirectory: data, extraArguments: ["--token", token, "--queue-service", "comfy:comfyui"],
                                           logDirectory: scratch.path)
    }

    @Test func platformSampleOverHTTP() async throws {
        let scratch = try ScratchDirectory("loom-video")
        defer { scratch.remove() }
        let server = try await Self.startServer(scratch)
        defer { server.kill() }
        let client = server.client(token: Self.token)
        let body = try JSONValue.parse([UInt8](try JSONSerialization.data(withJSONObject: try Self.samplePrompt())))
        let id = try await client.submit(body)
        let job = try await client.waitForFinished(id, timeout: .seconds(900))
        try #require(job["status"]?.stringValue == "completed", "\(job)\n\(server.logs)")
        let history = try await client.getJSON("/history/\(id)")
        let outputs = try #require(history[id]?["outputs"], "\(history)")
        let png = try #require(outputs["9"]?["images"]?.arrayValue?.first)
        let webp = try #require(outputs["15"]?["images"]?.arrayValue?.first)
        #expect(outputs["15"]?["animated"]?.arrayValue?.first?.boolValue == true)
        let mp4 = try #require(outputs["19"]?["gifs"]?.arrayValue?.first)
        for (entry, suffix, type) in [(png, ".png", "image/png"), (webp, ".webp", "image/webp"), (mp4, ".mp4", "video/mp4")] {
            let filename = try #require(entry["filename"]?.stringValue)
            #expect(filename.hasSuffix(suffix))
            let view = try await client.get("/view?filename=\(filename)&subfolder=\(entry["subfolder"]?.stringValue ?? "")&type=output")
            #expect(view.status == 200 && view.body.count > 0, "\(filename)")
            #expect(view.headers["content-type"]?.hasPrefix(type) == true, "\(filename): \(view.headers)")
        }
    }

    @Test func platformSampleThroughTheQueueService() async throws {
        let scratch = try ScratchDirectory("loom-video-queue")
        defer { scratch.remove() }
        let workflow = scratch.appending("workflow.json")
        FileManager.default.createFile(atPath: workflow, contents: try JSONSerialization.data(withJSONObject: try Self.samplePrompt()))
        let server = try await Self.startServer(scratch)
        defer { server.kill() }
        let (status, output) = try await QueueServiceSDKTests.runPython([
            QueueServiceSDKTests.checks, "--endpoint", "127.0.0.1:\(server.port)", "--service", "comfy", "--token", Self.token,
            "--comfy-service", "comfy", "--workflow", workflow, "--view-url", "http://127.0.0.1:\(server.port)",
            "--only", "t18", "--comfy-timeout", "900", "--check-timeout", "960", "--verbose",
        ], timeout: .seconds(1000))
        #expect(status == 0, "eas_checks.py t18 failed:\n\(output)\n\(server.logs)")
        #expect(output.contains("PASS t18"), "\(output)")
        // The sink item holds the PNG, the animated WEBP and Video Combine's MP4 (with its first-frame PNG).
        #expect(output.contains("3 output nodes"), "\(output)")
    }
}
