import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import Workflow

/// Body size limits and absurd image sizes.
@Suite struct LimitsTests {
    /// Sends one request on a fresh connection (a refused oversized body may close its connection).
    static func send(_ server: TestServer, _ method: HTTPRequest.Method, _ uri: String, body: ByteBuffer,
                     headers: HTTPFields = [:]) async throws -> TestClient.Response {
        try await TestClient.withClient(host: "localhost", port: server.port) { client in
            try await client.execute(TestClient.Request(uri, method: method, headers: headers, body: body))
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        try await withServer(maxUploadSize: 4096) { server in
            let padding = String(repeating: "x", count: 8192)
            let prompt = ByteBuffer(string: #"{"prompt": {}, "pad": "\#(padding)"}"#)
            for path in ["/prompt", "/api/prompt", "/api/jobs/cancel", "/queue", "/api/history", "/interrupt", "/api/free"] {
                let response = try await Self.send(server, .post, path, body: prompt, headers: [.contentType: "application/json"])
                #expect(response.status == .contentTooLarge, "\(path)")
            }
            var form = MultipartBody()
            form.file("image", filename: "big.png", data: [UInt8](repeating: 7, count: 16384))
            let (body, headers) = form.finished()
            for path in ["/upload/image", "/api/upload/mask"] {
                let response = try await Self.send(server, .post, path, body: body, headers: headers)
                #expect(response.status == .contentTooLarge, "\(path)")
            }
            #expect(try await Self.send(server, .get, "/health", body: ByteBuffer()).status == .ok)
            // Nothing was queued and under the limit everything works.
            let queue = try await Self.send(server, .get, "/queue", body: ByteBuffer())
            #expect(try JSONValue.parse(queue.body.map { String(buffer: $0) } ?? "") == ["queue_running": [], "queue_pending": []])
            let small = try await Self.send(server, .post, "/prompt",
                                            body: ByteBuffer(bytes: (["prompt": Prompts.emptyPreview()] as JSONValue).serialized()))
            #expect(small.status == .ok)
        }
    }

    @Test func absurdImageSizesAreRefusedAndTheServerStaysHealthy() async throws {
        try await withServer { server in
            let huge: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 16384, "height": 16384, "batch_size": 4096, "color": 0]],
                "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
            ]
            let response = try await server.post("/prompt", json: ["prompt": huge])
            if response.status == .ok {
                // Accepted by validation: the node must refuse before allocating.
                let id = try #require(try response.json()["prompt_id"]?.stringValue)
                let entry = try await server.waitForHistory(id, timeout: .seconds(10))
                #expect(entry["status"]?["status_str"] == "error")
                let last = entry["status"]?["messages"]?.items.last?.items ?? []
                #expect(last.first == "execution_error")
                let message = last.last?["exception_message"]?.stringValue ?? ""
                #expect(message.contains("16384x16384") && message.contains("limit"), "\(message)")
                #expect(last.last?["node_id"] == "1")
            } else {
                #expect(response.status == .badRequest)
                #expect(try response.json()["error"]?["type"]?.stringValue != nil)
            }
            // Past the declared bounds it is a validation error.
            let bigger: JSONValue = [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 100000, "height": 100000, "batch_size": 100000, "color": 0]],
                "2": ["class_type": "PreviewImage", "inputs": ["images": ["1", 0]]],
            ]
            let refused = try await expectValidationFailure(server, bigger)
            let types = refused["node_errors"]?["1"]?["errors"]?.items.compactMap { $0["type"]?.stringValue } ?? []
            #expect(types == ["value_bigger_than_max", "value_bigger_than_max", "value_bigger_than_max"])

            #expect(try await server.get("/health").status == .ok)
            let ok = try await server.submit(Prompts.emptyPreview())
            #expect(try await server.waitForHistory(ok)["status"]?["status_str"] == "success")
        }
    }
}
