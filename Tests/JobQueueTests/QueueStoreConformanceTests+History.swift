import JobQueue
import Testing
import Workflow

/// The history, listing and storage-format half of the driver conformance suite.
@Suite("QueueStore conformance: history and jobs")
struct QueueStoreHistoryConformanceTests {
    /// Enqueues `a`…`e` and finishes them in the order e, c, a, d, b (b last, at end time 5_000).
    private func finishOutOfOrder(_ store: any QueueStore) async throws {
        try await store.enqueue(["a", "b", "c", "d", "e"].map { makeJob($0) })
        _ = try await store.claimAll(now: 500)
        for (index, id) in ["e", "c", "a", "d", "b"].enumerated() {
            try await store.finish(id: id, state: .completed, result: makeResult(), now: Int64(index + 1) * 1_000)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func historyIsInCompletionOrderAndPages(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await finishOutOfOrder(store)
            _ = try await store.enqueue(makeJob("still-pending"))
            let all = try await store.history(offset: 0, limit: nil)
            #expect(all.map(\.id) == ["e", "c", "a", "d", "b"])
            #expect(all.map { $0.finishSequence! } == all.map { $0.finishSequence! }.sorted())
            #expect(try await store.history(offset: 1, limit: 2).map(\.id) == ["c", "a"])
            #expect(try await store.history(offset: 3, limit: nil).map(\.id) == ["d", "b"])
            #expect(try await store.history(offset: 4, limit: 10).map(\.id) == ["b"])
            #expect(try await store.history(offset: 5, limit: nil).isEmpty)
            #expect(try await store.history(offset: 0, limit: 0).isEmpty)
            #expect(try await store.history(offset: -1, limit: 2).map(\.id) == ["d", "b"])
            #expect(try await store.history(offset: -1, limit: 9).map(\.id) == ["e", "c", "a", "d", "b"])
            #expect(try await store.history(offset: -1, limit: nil).count == 5)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deleteAndClearHistoryTouchOnlyFinishedJobs(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await finishOutOfOrder(store)
            try await store.enqueue([makeJob("run"), makeJob("wait")])
            _ = try await store.claimNext(now: 9_000)
            try await store.deleteHistory(ids: ["c", "d", "run", "wait", "unknown"])
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["e", "a", "b"])
            #expect(try await store.job(id: "c") == nil)
            #expect(try await store.queueRemaining() == 2)
            try await store.clearHistory()
            #expect(try await store.history(offset: 0, limit: nil).isEmpty)
            #expect(try await store.running().map(\.id) == ["run"])
            #expect(try await store.pending().map(\.id) == ["wait"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pruneHistoryByCount(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await finishOutOfOrder(store)
            _ = try await store.enqueue(makeJob("pending"))
            try await store.pruneHistory(maxCount: 10, olderThan: nil)
            #expect(try await store.history(offset: 0, limit: nil).count == 5)
            try await store.pruneHistory(maxCount: 2, olderThan: nil)
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["d", "b"])
            try await store.pruneHistory(maxCount: 0, olderThan: nil)
            #expect(try await store.history(offset: 0, limit: nil).isEmpty)
            #expect(try await store.pending().map(\.id) == ["pending"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pruneHistoryByAge(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await finishOutOfOrder(store)  // end times e 1000, c 2000, a 3000, d 4000, b 5000
            try await store.pruneHistory(maxCount: nil, olderThan: 3_000)
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["a", "d", "b"])
            try await store.pruneHistory(maxCount: 1, olderThan: 4_000)
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["b"])
            try await store.pruneHistory(maxCount: nil, olderThan: nil)
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["b"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func jobsFiltersSortsAndPages(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            // create times: a 100, b 300, c 200, d 300 (tie with b, later sequence), e 50
            try await store.enqueue([makeJob("a", createTime: 100, workflowID: "wf-1", owner: "ann"),
                                     makeJob("b", createTime: 300, workflowID: "wf-2", owner: "bob"),
                                     makeJob("c", createTime: 200, workflowID: "wf-1", owner: "bob"),
                                     makeJob("d", createTime: 300, owner: "ann"),
                                     makeJob("e", createTime: 50)])
            try await store.run("a", start: 1_000, end: 1_500)  // duration 500
            try await store.run("b", as: .failed, start: 2_000, end: 4_000)  // duration 2000
            try await store.run("c", as: .cancelled, start: 5_000, end: 5_100)  // duration 100
            _ = try await store.claimNext(now: 6_000)  // d running: no duration

            let all = try await store.jobs(JobQuery())
            #expect(all.total == 5 && all.jobs.map(\.id) == ["d", "b", "c", "a", "e"])
            let ascending = try await store.jobs(JobQuery(descending: false))
            #expect(ascending.jobs.map(\.id) == ["e", "a", "c", "b", "d"])
            let finished = try await store.jobs(JobQuery(states: [.completed, .failed, .cancelled]))
            #expect(finished.total == 3 && finished.jobs.map(\.id) == ["b", "c", "a"])
            let active = try await store.jobs(JobQuery(states: [.pending, .running], descending: false))
            #expect(active.jobs.map(\.id) == ["e", "d"] && active.jobs.map(\.state) == [.pending, .running])
            #expect(try await store.jobs(JobQuery(states: [])) == JobPage(jobs: [], total: 0))

            let workflow = try await store.jobs(JobQuery(workflowID: "wf-1"))
            #expect(workflow.total == 2 && workflow.jobs.map(\.id) == ["c", "a"])
            #expect(try await store.jobs(JobQuery(workflowID: "wf-9")).total == 0)
            let owned = try await store.jobs(JobQuery(descending: false, owner: "ann"))
            #expect(owned.jobs.map(\.id) == ["a", "d"])
            let combined = try await store.jobs(JobQuery(states: [.cancelled], workflowID: "wf-1", owner: "bob"))
            #expect(combined.jobs.map(\.id) == ["c"])

            // Duration: jobs without start and end count as 0; ties by create time, then sequence.
            let slowest = try await store.jobs(JobQuery(sortBy: .executionDuration))
            #expect(slowest.jobs.map(\.id) == ["b", "a", "c", "d", "e"])
            let fastest = try await store.jobs(JobQuery(sortBy: .executionDuration, descending: false))
            #expect(fastest.jobs.map(\.id) == ["e", "d", "c", "a", "b"])

            let page = try await store.jobs(JobQuery(offset: 1, limit: 2))
            #expect(page.total == 5 && page.jobs.map(\.id) == ["b", "c"])
            let tail = try await store.jobs(JobQuery(offset: 4, limit: 10))
            #expect(tail.total == 5 && tail.jobs.map(\.id) == ["e"])
            let beyond = try await store.jobs(JobQuery(offset: 9, limit: 1))
            #expect(beyond.total == 5 && beyond.jobs.isEmpty)
            #expect(try await store.jobs(JobQuery(limit: 0)).jobs.isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func jsonRoundTripKeepsKeyOrderAndBigIntegers(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let promptText = #"""
                {"3": {"inputs": {"seed": 18446744073709551615, "steps": 20, "cfg": 8.0, "denoise": 1.0,
                "sampler_name": "euler", "model": ["4", 0], "text": "a \"cat\"\n🐈 naïve"},
                "class_type": "KSampler", "_meta": {"title": "KSampler"}},
                "10": {"inputs": {"z": 1, "a": 2, "m": -9223372036854775808}, "class_type": "Zeta"},
                "2": {"inputs": {}, "class_type": "Empty"}}
                """#
            let prompt = try JSONValue.parse(promptText)
            let extra = try JSONValue.parse(#"{"extra_pnginfo": {"workflow": {"version": 0.4, "id": "wf-uuid", "nodes": []}}, "client_id": "c"}"#)
            let job = NewJob(id: "json", number: 7.5, numberIsClientFloat: true, prompt: prompt, extraData: extra,
                             outputsToExecute: ["9", "10", "2"], createTime: 1_700_000_000_123, owner: "user-ü")
            let result = JobResult(outputs: try JSONValue.parse(#"{"9": {"images": [], "b": [1], "a": [2]}}"#),
                                   status: try JSONValue.parse(#"{"status_str": "success", "completed": true, "messages": [["execution_start", {"timestamp": 1700000000123, "prompt_id": "json"}]]}"#),
                                   meta: try JSONValue.parse(#"{"9": {"node_id": "9", "display_node": "9", "parent_node": null, "real_node_id": "9"}}"#))
            _ = try await fixture.store.enqueue(job)
            _ = try await fixture.store.claimNext(now: 1)
            try await fixture.store.finish(id: "json", state: .completed, result: result, now: 2)
            try fixture.reopen()

            let stored = try #require(try await fixture.store.job(id: "json"))
            #expect(stored.job == job)
            #expect(stored.job.prompt.jsonString() == prompt.jsonString())
            #expect(stored.job.prompt["3"]?["inputs"]?["seed"] == .uint(18_446_744_073_709_551_615))
            #expect(stored.job.prompt.objectValue?.keys == ["3", "10", "2"])
            #expect(stored.job.prompt["10"]?["inputs"]?.objectValue?.keys == ["z", "a", "m"])
            #expect(stored.job.extraData.jsonString() == extra.jsonString())
            #expect(stored.job.workflowID == "wf-uuid")
            #expect(stored.result == result)
            #expect(stored.result?.outputs.jsonString() == result.outputs.jsonString())
            #expect(stored.result?.status.jsonString() == result.status.jsonString())
            #expect(stored.result?.meta.jsonString() == result.meta.jsonString())
            #expect(try await fixture.store.jobs(JobQuery(workflowID: "wf-uuid")).jobs.map(\.id) == ["json"])
        }
    }
}
