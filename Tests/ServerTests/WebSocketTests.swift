import HummingbirdTesting
import Testing
import Workflow

/// `/ws`: connect status, feature flags, the message sequence of a prompt, delivery rules,
/// progress, errors and interrupts.
@Suite struct WebSocketTests {
    /// The execution message types a prompt produces (everything but `status`).
    static let executionTypes: Set<String> = [
        "execution_start", "execution_cached", "executing", "executed", "execution_success", "execution_error",
        "execution_interrupted", "progress",
    ]

    @Test(arguments: ["/ws", "/api/ws"])
    func connectSendsStatusWithTheClientID(path: String) async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "\(path)?clientId=my-client") { socket in
                let first = try #require(socket.recorder.messages.first)
                #expect(first == ["type": "status", "data": ["status": ["exec_info": ["queue_remaining": 0]], "sid": "my-client"]])
            }
            try await withWebSocket(port: server.port, path: path) { socket in
                let sid = try await socket.sid()
                #expect(sid.count == 32)
                #expect(sid.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) })
            }
        }
    }

    @Test func featureFlagsAreAnsweredOnce() async throws {
        try await withServer { server in
            let features = try await server.getJSON("/features")
            try await withWebSocket(port: server.port, path: "/ws?clientId=flags") { socket in
                socket.send(["type": "feature_flags",
                             "data": ["supports_preview_metadata": true, "supports_manager_v4_ui": true]])
                let reply = try await socket.recorder.waitForMessage("feature_flags")
                #expect(reply == features)
                // Only the first message is interpreted.
                socket.send(["type": "feature_flags", "data": [:]])
                let id = try await server.submit(Prompts.emptyPreview(), clientID: "flags")
                try await socket.recorder.waitForMessage("executing") { $0["node"] == .null && $0["prompt_id"] == .string(id) }
                #expect(socket.recorder.data(ofType: "feature_flags").count == 1)
            }
        }
    }

    @Test func fullSequenceForAMultiNodePrompt() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=seq") { socket in
                let id = try await server.submit(Prompts.emptyInvertSave(prefix: "seq"), clientID: "seq")
                let messages = try await socket.recorder.wait(for: "the final executing") { messages in
                    messages.contains { $0["type"] == "executing" && $0["data"]?["node"] == .null }
                }
                let types = messages.compactMap { $0["type"]?.stringValue }
                let execution = types.filter { Self.executionTypes.contains($0) }
                #expect(execution == ["execution_start", "execution_cached", "executing", "executing", "executing", "executed",
                                      "execution_success", "executing"])

                func data(_ type: String) -> [JSONValue] { socket.recorder.data(ofType: type) }
                let start = try #require(data("execution_start").first)
                #expect(start.keys == ["prompt_id", "timestamp"])
                #expect(start["prompt_id"] == .string(id))
                #expect(data("execution_cached").first?["nodes"] == [])
                #expect(data("execution_cached").first?["prompt_id"] == .string(id))
                #expect(data("execution_cached").first?["timestamp"]?.intValue != nil)
                let executing = data("executing")
                #expect(executing.dropLast() == [
                    ["node": "1", "display_node": "1", "prompt_id": .string(id)],
                    ["node": "2", "display_node": "2", "prompt_id": .string(id)],
                    ["node": "3", "display_node": "3", "prompt_id": .string(id)],
                ])
                #expect(executing.last == ["node": nil, "prompt_id": .string(id)])
                #expect(data("executed") == [[
                    "node": "3", "display_node": "3",
                    "output": ["images": [["filename": "seq_00001_.png", "subfolder": "", "type": "output"]]],
                    "prompt_id": .string(id),
                ]])
                #expect(data("execution_success").first?["prompt_id"] == .string(id))

                // Status: connect (0), enqueue (1), … and 0 after the job, before the final executing.
                let statuses = messages.enumerated().filter { $0.element["type"] == "status" }
                #expect(statuses.first?.element["data"]?["sid"] == "seq")
                #expect(statuses.dropFirst().allSatisfy { $0.element["data"]?["sid"] == nil })
                #expect(statuses.dropFirst().first?.element["data"]?["status"]?["exec_info"]?["queue_remaining"] == 1)
                let successIndex = try #require(types.firstIndex(of: "execution_success"))
                let finalIndex = types.count - 1 - (types.reversed().firstIndex(of: "executing") ?? 0)
                #expect(statuses.contains { $0.offset > successIndex && $0.offset < finalIndex
                        && $0.element["data"]?["status"]?["exec_info"]?["queue_remaining"] == 0 })
            }
        }
    }

    @Test func promptWithoutClientIDOnlyBroadcastsStatus() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=bystander") { socket in
                let id = try await server.submit(Prompts.emptyInvertSave())
                _ = try await server.waitForHistory(id)
                try await socket.recorder.wait(for: "status 0 after the job") { messages in
                    messages.dropFirst().contains { $0["type"] == "status" && $0["data"]?["status"]?["exec_info"]?["queue_remaining"] == 0 }
                }
                let types = socket.recorder.messages.compactMap { $0["type"]?.stringValue }
                #expect(types.filter { Self.executionTypes.contains($0) } == [])
                #expect(types.filter { $0 == "status" }.count >= 3)
            }
        }
    }

    @Test func messagesGoOnlyToTheSubmittingClient() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=other") { other in
                try await withWebSocket(port: server.port, path: "/ws?clientId=owner") { owner in
                    let id = try await server.submit(Prompts.emptyPreview(), clientID: "owner")
                    try await owner.recorder.waitForMessage("executing") { $0["node"] == .null && $0["prompt_id"] == .string(id) }
                    try await other.recorder.wait(for: "status 0") { messages in
                        messages.dropFirst().contains { $0["type"] == "status" && $0["data"]?["status"]?["exec_info"]?["queue_remaining"] == 0 }
                    }
                    #expect(other.recorder.messages.allSatisfy { $0["type"] == "status" })
                }
            }
        }
    }

    @Test func progressFromALongNode() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=prog") { socket in
                let id = try await server.submit(Prompts.slow(steps: 5, tickMS: 10), clientID: "prog")
                try await socket.recorder.waitForMessage("execution_success") { $0["prompt_id"] == .string(id) }
                let progress = socket.recorder.data(ofType: "progress")
                #expect(progress == (1...5).map { ["value": .number($0), "max": 5, "prompt_id": .string(id), "node": "1"] })
                #expect(socket.recorder.data(ofType: "executed").first?["output"] == ["text": ["slow done"]])
            }
        }
    }

    @Test func progressIsBroadcastWithoutClientID() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws") { socket in
                let id = try await server.submit(Prompts.slow(steps: 3, tickMS: 10))
                try await socket.recorder.wait(for: "three progress messages") { messages in
                    messages.filter { $0["type"] == "progress" }.count == 3
                }
                _ = try await server.waitForHistory(id)
                #expect(socket.recorder.data(ofType: "progress").allSatisfy { $0["prompt_id"] == .string(id) })
                #expect(socket.recorder.data(ofType: "executing").isEmpty)
            }
        }
    }

    @Test func executionErrorPayload() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=err") { socket in
                let id = try await server.submit(Prompts.failing(message: "the node failed on purpose"), clientID: "err")
                let error = try await socket.recorder.waitForMessage("execution_error")
                #expect(Set(error.keys) == ["prompt_id", "node_id", "node_type", "executed", "exception_message", "exception_type",
                                           "traceback", "current_inputs", "current_outputs", "timestamp"])
                #expect(error["prompt_id"] == .string(id))
                #expect(error["node_id"] == "2")
                #expect(error["node_type"] == "FailNode")
                #expect(error["executed"] == ["1"])
                #expect(error["exception_message"] == "the node failed on purpose")
                #expect(error["exception_type"] == "loom.tests.Boom")
                #expect(error["traceback"]?.arrayValue != nil)
                #expect(error["current_inputs"]?["message"] == ["the node failed on purpose"])
                #expect(error["current_inputs"]?["image"]?.items.count == 1)
                #expect(error["current_outputs"]?.strings.contains("1") == true)
                #expect(error["timestamp"]?.intValue != nil)
                try await socket.recorder.waitForMessage("executing") { $0["node"] == .null }
                #expect(socket.recorder.data(ofType: "execution_success").isEmpty)

                let entry = try await server.waitForHistory(id)
                #expect(entry["status"]?["status_str"] == "error")
                #expect(entry["status"]?["completed"] == false)
                #expect(entry["status"]?["messages"]?.items.last == ["execution_error", error])
                #expect(try await server.getJSON("/api/jobs/\(id)")["status"] == "failed")
            }
        }
    }

    @Test func interruptIsReported() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=intr") { socket in
                let id = try await server.submit(Prompts.slow(steps: 400), clientID: "intr")
                try await socket.recorder.waitForMessage("progress")
                try await server.post("/api/interrupt", json: ["prompt_id": .string(id)])
                let interrupted = try await socket.recorder.waitForMessage("execution_interrupted")
                #expect(interrupted.keys == ["prompt_id", "node_id", "node_type", "executed", "timestamp"])
                #expect(interrupted["prompt_id"] == .string(id))
                #expect(interrupted["node_id"] == "1")
                #expect(interrupted["node_type"] == "SlowNode")
                #expect(interrupted["executed"] == [])
                try await socket.recorder.waitForMessage("executing") { $0["node"] == .null }
                #expect(socket.recorder.data(ofType: "execution_error").isEmpty)
                let entry = try await server.waitForHistory(id)
                #expect(entry["status"]?["messages"]?.items.last == ["execution_interrupted", interrupted])
            }
            // Without a client id the interrupt is broadcast.
            try await withWebSocket(port: server.port, path: "/ws") { socket in
                let id = try await server.submit(Prompts.slow(steps: 400))
                try await socket.recorder.waitForMessage("progress")
                try await server.post("/interrupt")
                let interrupted = try await socket.recorder.waitForMessage("execution_interrupted")
                #expect(interrupted["prompt_id"] == .string(id))
            }
        }
    }

    @Test func statusIsBroadcastOnEveryQueueChange() async throws {
        try await withServer { server in
            try await withWebSocket(port: server.port, path: "/ws?clientId=watcher") { socket in
                func remaining() -> [Int] {
                    socket.recorder.data(ofType: "status").compactMap { $0["status"]?["exec_info"]?["queue_remaining"]?.intValue }
                }
                func waitForRemaining(_ n: Int, after count: Int) async throws {
                    try await socket.recorder.wait(for: "status \(n)") { _ in remaining().dropFirst(count).contains(n) }
                }
                let running = try await server.submit(Prompts.slow(steps: 400))
                try await server.waitForStatus(running, ["in_progress"])
                var seen = remaining().count
                let a = try await server.submit(Prompts.slow(steps: 1, seed: 21))
                try await waitForRemaining(2, after: seen)
                _ = try await server.submit(Prompts.slow(steps: 1, seed: 22))
                try await waitForRemaining(3, after: seen)
                seen = remaining().count
                try await server.post("/queue", json: ["delete": [.string(a)]])
                try await waitForRemaining(2, after: seen)
                seen = remaining().count
                try await server.post("/api/queue", json: ["clear": true])
                try await waitForRemaining(1, after: seen)
                seen = remaining().count
                let c = try await server.submit(Prompts.slow(steps: 1, seed: 23))
                try await waitForRemaining(2, after: seen)
                seen = remaining().count
                try await server.post("/api/jobs/\(c)/cancel")
                try await waitForRemaining(1, after: seen)
                seen = remaining().count
                try await server.post("/interrupt")
                try await waitForRemaining(0, after: seen)
                // Only the connect message carries the sid.
                #expect(socket.recorder.data(ofType: "status").dropFirst().allSatisfy { $0["sid"] == nil })
            }
        }
    }

    @Test func reconnectingClientIsToldTheRunningNode() async throws {
        try await withServer { server in
            let id = try await server.submit(Prompts.slow(steps: 400), clientID: "returning")
            try await server.waitForStatus(id, ["in_progress"])
            try await withWebSocket(port: server.port, path: "/ws?clientId=returning") { socket in
                let replay = try await socket.recorder.waitForMessage("executing")
                #expect(replay == ["node": "1"])
                try await socket.recorder.waitForMessage("progress") { $0["prompt_id"] == .string(id) }
            }
            try await server.post("/interrupt")
            try await server.waitForStatus(id, ["cancelled"])
        }
    }
}
