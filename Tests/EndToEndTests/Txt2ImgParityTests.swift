import Foundation
import LoomTestSupport
import MediaIO
import TensorCore
import Testing
import Workflow

extension EndToEndTests {
    /// The parity matrix through the HTTP API of the real executable: each of ComfyUI's twelve
    /// txt2img cases (reduced seed-0 checkpoint) is posted to `/prompt`, its PNG fetched from `/view`
    /// and compared with ComfyUI's by PSNR.
    @Suite struct Txt2ImgParity {
        @Test("the twelve txt2img goldens through POST /prompt and /view")
        func twelveCasesOverHTTP() async throws {
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let data = scratch.appending("data")
            let checkpoints = data + "/models/checkpoints"
            try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: checkpoints + "/sd15_reduced_s0.safetensors",
                                                       withDestinationPath: try ModelFixtures.reduced())
            let server = try await LoomProcess.start(dataDirectory: data, logDirectory: scratch.path)
            defer { server.kill() }
            let client = server.client()

            for testCase in try Parity.txt2imgCases() {
                let workflow = try Parity.txt2imgWorkflow(testCase, checkpoint: "sd15_reduced_s0.safetensors",
                                                          prefix: "parity/\(testCase)")
                let id = try await client.submit(try JSONValue.parse(workflow))
                let job = try await client.waitForFinished(id, timeout: .seconds(600))
                try #require(job["status"]?.stringValue == "completed", "\(testCase): \(job)\n\(server.logs)")
                let history = try await client.getJSON("/history/\(id)")
                let image = try #require(history[id]?["outputs"]?["9"]?["images"]?.arrayValue?.first, "\(testCase): \(history)")
                let filename = try #require(image["filename"]?.stringValue)
                let subfolder = image["subfolder"]?.stringValue ?? ""
                let view = try await client.get("/view?filename=\(filename)&subfolder=\(subfolder)&type=output")
                #expect(view.status == 200)
                let ours = try decodeImage([UInt8](view.body))
                let theirs = try decodeImage([UInt8](Data(contentsOf: testCase.folder.appendingPathComponent("image.png"))))
                let a = Tensor.image(frames: ours).narrowed(dim: 3, start: 0, length: 3).contiguous().scalars
                let b = Tensor.image(frames: theirs).narrowed(dim: 3, start: 0, length: 3).contiguous().scalars
                try #require(a.count == b.count, "\(testCase): image sizes differ")
                let psnr = Parity.psnr(a.map(Tensor.quantize), b.map(Tensor.quantize))
                print("HTTP txt2img \(testCase): PSNR \(psnr) dB")
                #expect(psnr >= 45, "\(testCase)")
            }
        }
    }
}
