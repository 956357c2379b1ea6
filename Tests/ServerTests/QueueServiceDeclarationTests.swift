import Foundation
import MessageQueue
import Server
import Testing

@Suite struct QueueServiceDeclarationTests {
    @Test func parsesTheCommandLineForm() throws {
        let plain = try QueueServiceDeclaration.parse("inbox")
        #expect(plain.name == "inbox" && plain.kind == .plain && plain.token == nil && plain.settings == QueueSettings())
        let comfy = try QueueServiceDeclaration.parse("video.gen_1:comfyui,max-length=3,token=abc,evict=true,max-delivery=1,max-payload-bytes=4096")
        #expect(comfy.name == "video.gen_1" && comfy.kind == .comfyui && comfy.token == "abc")
        #expect(comfy.settings == QueueSettings(maxLength: 3, maxPayloadBytes: 4096, evictOldest: true, maxDelivery: 1))
        #expect(comfy.inputQueue == "video.gen_1" && comfy.sinkQueue == "video.gen_1/sink")
        #expect(try QueueServiceDeclaration.parse("e:echo").kind == .echo)
        for bad in ["", "sink", "a/b", "x:gpu", "x,max-length=0", "x,max-length=many", "x,colour=red", "x,evict=maybe", "x,token"] {
            #expect(throws: QueueServiceError.self, "\(bad)") { try QueueServiceDeclaration.parse(bad) }
        }
    }

    @Test func readsTheConfigFile() throws {
        let path = NSTemporaryDirectory() + "queue-services-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try QueueServiceDeclaration.load(file: path) == nil)
        try Data(#"[{"name": "comfyui", "kind": "comfyui", "max_length": 100, "evict": false, "max_delivery": 2}, {"name": "raw", "token": "t"}]"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let services = try #require(try QueueServiceDeclaration.load(file: path))
        #expect(services.map(\.name) == ["comfyui", "raw"])
        #expect(services[0].kind == .comfyui && services[0].settings.maxLength == 100 && services[0].settings.maxDelivery == 2)
        #expect(services[1].kind == .plain && services[1].token == "t")
        try Data(#"[{"name": "x", "max_length": -1}]"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: QueueServiceError.self) { try QueueServiceDeclaration.load(file: path) }
        try Data(#"{"name": "x"}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: QueueServiceError.self) { try QueueServiceDeclaration.load(file: path) }
    }

    @Test func resolvesPathsToQueues() throws {
        let services = QueueServices(broker: MessageBroker(store: MemoryMessageStore()),
                                     services: [try .parse("svc"), try .parse("svc.v2:comfyui"), try .parse("a")],
                                     serverToken: "server", backendName: "memory")
        #expect(services.resolve("svc")?.queue == "svc")
        #expect(services.resolve("svc/sink")?.queue == "svc/sink")
        #expect(services.resolve("svc/sink")?.isSink == true)
        #expect(services.resolve("svc/api_prompt")?.suffix == "api_prompt")
        #expect(services.resolve("svc/api_prompt")?.queue == "svc")
        #expect(services.resolve("svc.v2/sink")?.service.kind == .comfyui)
        #expect(services.resolve("other") == nil)
        #expect(services.resolve("svcx") == nil)
        #expect(services.token(for: try .parse("a")) == "server")
        #expect(services.token(for: try .parse("a,token=own")) == "own")
    }
}
