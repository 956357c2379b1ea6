import HummingbirdTesting
import Testing
import Workflow

/// `GET /prompt`, `/queue`, `/interrupt`, `/free` and `/history`, under both `/x` and `/api/x`.
@Suite struct QueueHistoryTests {
    @Test(arguments: ["", "/api"], [StoreKind.sqlite, .memory])
    func queueShapesAndClearAndDelete(prefix: String, store: StoreKind) async throws {
        try await withServer(store: store) { server in
            #expect(try await server.getJSON("\(prefix)/prompt") == ["exec_info": ["queue_remaining": 0]])
            #expect(try await server.getJSON("\(prefix)/queue") == ["queue_running": [], "queue_pending": []])

            // The slow job holds the worker, so the next three stay pending.
            let slow = try await server.submit(Prompts.slow(steps: 400), clientID: "queue-client")
            try await server.waitForStatus(slow, ["in_progress"])
            let a = try await server.submit(Prompts.slow(steps: 1, seed: 1))
            let b = try await server.submit(Prompts.slow(steps: 1, seed: 2))
            let c = try await server.submit(Prompts.slow(steps: 1, seed: 3), extra: ["extra_data": ["extra_pnginfo": ["workflow": ["id": "wf"]]]])

            #expect(try await server.getJSON("\(prefix)/prompt") == ["exec_info": ["queue_remaining": 4]])
            let queue = try await server.getJSON("\(prefix)/queue")
            #expect(queue.keys == ["queue_running", "queue_pending"])
            let running = queue["queue_running"]?.items ?? []
            #expect(running.count == 1)
            let item = try #require(running.first?.items)
            #expect(item.count == 5)
            #expect(item[0] == 0)
            #expect(item[1] == .string(slow))
            #expect(item[2]["1"]?["class_type"] == "SlowNode")
            #expect(item[3]["client_id"] == "queue-client")
            #expect(item[3]["create_time"]?.intValue != nil)
            #expect(item[4] == ["1"])
            let pending = queue["queue_pending"]?.items ?? []
            #expect(pending.allSatisfy { $0.items.count == 5 })
            #expect(Set(pending.compactMap { $0.items[1].stringValue }) == [a, b, c])
            #expect(pending.first { $0.items[1] == .string(c) }?.items[3]["extra_pnginfo"] == ["workflow": ["id": "wf"]])

            try await server.post("\(prefix)/queue", json: ["delete": [.string(b)]])
            var ids = try await server.getJSON("/queue")["queue_pending"]?.items.compactMap { $0.items[1].stringValue }
            #expect(Set(ids ?? []) == [a, c])
            #expect(try await server.getJSON("/queue")["queue_running"]?.items.count == 1)

            let cleared = try await server.post("\(prefix)/queue", json: ["clear": true])
            #expect(cleared.status == .ok)
            ids = try await server.getJSON("/queue")["queue_pending"]?.items.compactMap { $0.items[1].stringValue }
            #expect(ids == [])
            // Running work is unaffected by clear.
            #expect(try await server.getJSON("/api/jobs/\(slow)")["status"] == "in_progress")
            #expect(try await server.getJSON("/prompt") == ["exec_info": ["queue_remaining": 1]])
            // Deleted pending jobs leave no history.
            #expect(try await server.getJSON("/history/\(b)") == [:])
            try await server.post("/interrupt")
            try await server.waitForStatus(slow, ["cancelled"])
        }
    }

    @Test(arguments: ["", "/api"])
    func interruptWithAndWithoutPromptID(prefix: String) async throws {
        try await withServer { server in
            let first = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(first, ["in_progress"])
            // A prompt_id that is not running is a no-op.
            let noop = try await server.post("\(prefix)/interrupt", json: ["prompt_id": .string(newUUID())])
            #expect(noop.status == .ok)
            #expect(noop.body.readableBytes == 0)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await server.getJSON("/api/jobs/\(first)")["status"] == "in_progress")

            try await server.post("\(prefix)/interrupt", json: ["prompt_id": .string(first)])
            let entry = try await server.waitForHistory(first)
            #expect(entry["status"]?["status_str"] == "error")
            #expect(entry["status"]?["completed"] == false)
            #expect(historyMessageTypes(entry).last == "execution_interrupted")

            // Without a body (and with a non-JSON one) whatever runs is interrupted.
            let second = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(second, ["in_progress"])
            #expect(try await server.request(.post, "\(prefix)/interrupt").status == .ok)
            #expect(try await server.waitForStatus(second, ["cancelled"])["status"] == "cancelled")

            let third = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(third, ["in_progress"])
            #expect(try await server.post("\(prefix)/interrupt", text: "not json").status == .ok)
            try await server.waitForStatus(third, ["cancelled"])

            // Interrupting an idle server does nothing harmful, and the next job runs normally.
            #expect(try await server.post("\(prefix)/interrupt").status == .ok)
            let after = try await server.submit(Prompts.slow(steps: 2, tickMS: 1))
            #expect(try await server.waitForHistory(after)["status"]?["status_str"] == "success")
        }
    }

    @Test(arguments: ["", "/api"])
    func freeClearsTheCache(prefix: String) async throws {
        try await withServer { server in
            let prompt = Prompts.emptyPreview()
            let first = try await server.submit(prompt)
            _ = try await server.waitForHistory(first)
            let free = try await server.post("\(prefix)/free", json: ["unload_models": true, "free_memory": true])
            #expect(free.status == .ok)
            #expect(free.body.readableBytes == 0)
            // After /free nothing is cached, so the same prompt runs every node again.
            let second = try await server.submit(prompt)
            let entry = try await server.waitForHistory(second)
            let cached = entry["status"]?["messages"]?.items.first { $0.items.first == "execution_cached" }?.items.last
            #expect(cached?["nodes"] == [])
            #expect(try await server.post("\(prefix)/free", text: "").status == .ok)
        }
    }

    @Test(arguments: ["", "/api"], [StoreKind.sqlite, .memory])
    func historyListingLookupAndDeletion(prefix: String, store: StoreKind) async throws {
        try await withServer(store: store) { server in
            #expect(try await server.getJSON("\(prefix)/history") == [:])
            // A pending job has no history entry yet.
            let blocker = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(blocker, ["in_progress"])
            let waiting = try await server.submit(Prompts.emptyInvertSave(), clientID: "history-client",
                                                  extra: ["extra_data": ["extra_pnginfo": ["workflow": ["id": "w1"]],
                                                                         "api_key_comfy_org": "secret"]])
            #expect(try await server.getJSON("\(prefix)/history/\(waiting)") == [:])
            #expect(try await server.getJSON("\(prefix)/history/\(blocker)") == [:])
            try await server.post("/interrupt", json: ["prompt_id": .string(blocker)])

            let entry = try await server.waitForHistory(waiting)
            let lookup = try await server.getJSON("\(prefix)/history/\(waiting)")
            #expect(lookup.keys == [waiting])
            #expect(entry.keys == ["prompt", "outputs", "status", "meta"])
            let prompt = entry["prompt"]?.items ?? []
            #expect(prompt.count == 5)
            #expect(prompt[1] == .string(waiting))
            #expect(prompt[3]["client_id"] == "history-client")
            #expect(prompt[3]["extra_pnginfo"] == ["workflow": ["id": "w1"]])
            #expect(prompt[3]["api_key_comfy_org"] == nil)
            #expect(prompt[4] == ["3"])
            #expect(entry["status"]?["status_str"] == "success")
            #expect(entry["status"]?["completed"] == true)
            #expect(historyMessageTypes(entry) == ["execution_start", "execution_cached", "execution_success"])
            for message in entry["status"]?["messages"]?.items ?? [] {
                #expect(message.items.last?["prompt_id"] == .string(waiting))
                #expect(message.items.last?["timestamp"]?.intValue != nil)
            }
            let images = entry["outputs"]?["3"]?["images"]?.items ?? []
            #expect(images.count == 1)
            #expect(images.first?["filename"] == "test_00001_.png")
            #expect(images.first?["subfolder"] == "")
            #expect(images.first?["type"] == "output")
            #expect(entry["meta"]?["3"] == ["node_id": "3", "display_node": "3", "parent_node": nil, "real_node_id": "3"])

            let third = try await server.submit(Prompts.emptyPreview(color: 7))
            _ = try await server.waitForHistory(third)

            let all = try await server.getJSON("\(prefix)/history")
            #expect(all.keys == [blocker, waiting, third])
            let last = try await server.getJSON("\(prefix)/history?max_items=1")
            #expect(last.keys == [third])
            let lastTwo = try await server.getJSON("\(prefix)/history?max_items=2")
            #expect(lastTwo.keys == [waiting, third])

            try await server.post("\(prefix)/history", json: ["delete": [.string(waiting)]])
            #expect(try await server.getJSON("/history").keys == [blocker, third])
            #expect(try await server.getJSON("/history/\(waiting)") == [:])
            try await server.post("\(prefix)/history", json: ["clear": true])
            #expect(try await server.getJSON("/history") == [:])
            #expect(try await server.getJSON("/api/jobs")["pagination"]?["total"] == 0)
        }
    }
}
