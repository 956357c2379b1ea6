import Foundation
import HummingbirdTesting
import Testing
import Workflow

/// Output caching between prompts, seen through the WebSocket and history.
@Suite struct CachingTests {
    /// `1 EmptyImage → 2 ImageScale → 3 ImageInvert → 4 SaveImage`, plus `5 EmptyImage → 6 PreviewImage`.
    static func graph(scaleWidth: Int = 48) -> JSONValue {
        [
            "1": ["class_type": "EmptyImage", "inputs": ["width": 32, "height": 32, "batch_size": 1, "color": 0x102030]],
            "2": ["class_type": "ImageScale",
                  "inputs": ["image": ["1", 0], "upscale_method": "nearest-exact", "width": .number(scaleWidth), "height": 32,
                             "crop": "disabled"]],
            "3": ["class_type": "ImageInvert", "inputs": ["image": ["2", 0]]],
            "4": ["class_type": "SaveImage", "inputs": ["images": ["3", 0], "filename_prefix": "cache"]],
            "5": ["class_type": "EmptyImage", "inputs": ["width": 16, "height": 16, "batch_size": 1, "color": 0]],
            "6": ["class_type": "PreviewImage", "inputs": ["images": ["5", 0]]],
        ]
    }

    /// The messages of one prompt, once its final `executing` arrived.
    static func run(_ prompt: JSONValue, on server: TestServer, socket: TestWebSocket) async throws -> (id: String, messages: [JSONValue]) {
        let id = try await server.submit(prompt, clientID: "cache")
        let all = try await socket.recorder.wait(for: "prompt \(id) to finish") { messages in
            messages.contains { $0["type"] == "executing" && $0["data"]?["node"] == .null && $0["data"]?["prompt_id"] == .string(id) }
        }
        return (id, all.filter { $0["data"]?["prompt_id"] == .string(id) })
    }

    static func data(_ messages: [JSONValue], _ type: String) -> [JSONValue] {
        messages.filter { $0["type"]?.stringValue == type }.compactMap { $0["data"] }
    }

    /// Ids of the nodes announced by `executing` (the final null excluded).
    static func executedNodes(_ messages: [JSONValue]) -> [String] {
        data(messages, "executing").compactMap { $0["node"]?.stringValue }
    }

    @Test func identicalPromptIsServedFromTheCache() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=cache") { socket in
                let first = try await Self.run(Self.graph(), on: server, socket: socket)
                #expect(Self.data(first.messages, "execution_cached").first?["nodes"] == [])
                #expect(Set(Self.executedNodes(first.messages)) == ["1", "2", "3", "4", "5", "6"])
                let firstOutputs = try await server.waitForHistory(first.id)["outputs"]

                let second = try await Self.run(Self.graph(), on: server, socket: socket)
                #expect(Self.data(second.messages, "execution_cached").first?["nodes"] == ["1", "2", "3", "4", "5", "6"])
                #expect(Self.executedNodes(second.messages) == [])
                // Cached output nodes re-send their UI, which also lands in the new history entry.
                let executed = Self.data(second.messages, "executed")
                #expect(Set(executed.compactMap { $0["node"]?.stringValue }) == ["4", "6"])
                #expect(executed.first { $0["node"] == "4" }?["output"] == [
                    "images": [["filename": "cache_00001_.png", "subfolder": "", "type": "output"]],
                ])
                #expect(Self.data(second.messages, "execution_success").count == 1)
                let entry = try await server.waitForHistory(second.id)
                #expect(entry["outputs"] == firstOutputs)
                #expect(entry["outputs"]?["4"]?["images"]?.items.first?["filename"] == "cache_00001_.png")
                // Nothing was written the second time.
                let files = try FileManager.default.contentsOfDirectory(atPath: server.directories.output)
                #expect(files.filter { $0.hasPrefix("cache_") } == ["cache_00001_.png"])
            }
        }
    }

    @Test func changingOneWidgetRerunsThatNodeAndItsDescendants() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=cache") { socket in
                _ = try await Self.run(Self.graph(scaleWidth: 48), on: server, socket: socket)
                let changed = try await Self.run(Self.graph(scaleWidth: 40), on: server, socket: socket)
                #expect(Self.data(changed.messages, "execution_cached").first?["nodes"] == ["1", "5", "6"])
                #expect(Self.executedNodes(changed.messages) == ["2", "3", "4"])
                let executed = Self.data(changed.messages, "executed")
                #expect(executed.first { $0["node"] == "4" }?["output"]?["images"]?.items.first?["filename"] == "cache_00002_.png")
                #expect(executed.contains { $0["node"] == "6" })
                let entry = try await server.waitForHistory(changed.id)
                #expect(Set(entry["outputs"]?.keys ?? []) == ["4", "6"])
            }
        }
    }
}
