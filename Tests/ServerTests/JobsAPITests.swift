import HummingbirdTesting
import Testing
import Workflow

/// The prefix-only jobs API: listing, filters, pagination, lookup and cancellation.
@Suite struct JobsAPITests {
    @Test(arguments: [StoreKind.sqlite, .memory])
    func listingPaginationAndFilters(store: StoreKind) async throws {
        try await withServer(store: store) { server in
            let done = try await server.submit(Prompts.emptyInvertSave(), extra: ["extra_data": ["extra_pnginfo": ["workflow": ["id": "wf-1"]]]])
            _ = try await server.waitForHistory(done)
            let failed = try await server.submit(Prompts.failing())
            _ = try await server.waitForHistory(failed)
            let running = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(running, ["in_progress"])
            let pending = try await server.submit(Prompts.slow(steps: 1, seed: 5))

            let all = try await server.getJSON("/api/jobs")
            #expect(all.keys == ["jobs", "pagination"])
            #expect(all["pagination"] == ["offset": 0, "limit": 4, "total": 4, "has_more": false])
            let jobs = all["jobs"]?.items ?? []
            // Default order: created_at, newest first.
            #expect(jobs.compactMap { $0["id"]?.stringValue } == [pending, running, failed, done])
            #expect(jobs.map { $0["status"]?.stringValue ?? "" } == ["pending", "in_progress", "failed", "completed"])
            for job in jobs {
                #expect(job["create_time"]?.intValue != nil)
                #expect(job["priority"]?.intValue != nil)
                #expect(job["outputs_count"]?.intValue != nil)
                #expect(job["previewable_outputs_count"]?.intValue != nil)
                #expect(job["outputs"] == nil)
                #expect(job["workflow"] == nil)
            }
            let completed = try #require(jobs.last)
            #expect(completed["outputs_count"] == 1)
            #expect(completed["previewable_outputs_count"] == 1)
            #expect(completed["preview_output"] == [
                "filename": "test_00001_.png", "subfolder": "", "type": "output", "nodeId": "3", "mediaType": "images",
            ])
            #expect(completed["workflow_id"] == "wf-1")
            #expect(completed["execution_start_time"]?.intValue != nil)
            #expect(completed["execution_end_time"]?.intValue != nil)
            #expect(jobs[2]["execution_error"]?["exception_message"] == "boom from the test node")
            #expect(jobs[0]["execution_start_time"] == nil)
            #expect(jobs[0]["outputs_count"] == 0)

            let page = try await server.getJSON("/api/jobs?limit=2&offset=1")
            #expect(page["pagination"] == ["offset": 1, "limit": 2, "total": 4, "has_more": true])
            #expect(page["jobs"]?.items.compactMap { $0["id"]?.stringValue } == [running, failed])
            let tail = try await server.getJSON("/api/jobs?limit=2&offset=2")
            #expect(tail["pagination"]?["has_more"] == false)

            let ascending = try await server.getJSON("/api/jobs?sort_order=asc")
            #expect(ascending["jobs"]?.items.compactMap { $0["id"]?.stringValue } == [done, failed, running, pending])

            let queue = try await server.getJSON("/api/jobs?status=in_progress,pending&limit=200&offset=0")
            #expect(queue["jobs"]?.items.compactMap { $0["id"]?.stringValue } == [pending, running])
            #expect(queue["pagination"] == ["offset": 0, "limit": 200, "total": 2, "has_more": false])
            let finished = try await server.getJSON("/api/jobs?status=completed,failed,cancelled")
            #expect(finished["jobs"]?.items.compactMap { $0["id"]?.stringValue } == [failed, done])
            #expect(try await server.getJSON("/api/jobs?status=failed")["jobs"]?.items.count == 1)
            #expect(try await server.getJSON("/api/jobs?workflow_id=wf-1")["jobs"]?.items.compactMap { $0["id"]?.stringValue } == [done])
            let byDuration = try await server.getJSON("/api/jobs?status=completed,failed&sort_by=execution_duration")
            #expect(byDuration["jobs"]?.items.count == 2)

            // The plain alias does not exist: the jobs API is prefix-only.
            #expect(try await server.get("/jobs").status == .notFound)
        }
    }

    @Test func listingRejectsBadParameters() async throws {
        try await withServer { server in
            let cases: [(String, String)] = [
                ("status=pending,bogus",
                 "Invalid status value(s): bogus. Valid values: pending, in_progress, completed, failed, cancelled"),
                ("sort_by=name", "sort_by must be 'created_at' or 'execution_duration'"),
                ("limit=0", "limit must be a positive integer"),
                ("limit=-3", "limit must be a positive integer"),
                ("limit=ten", "limit must be a positive integer"),
            ]
            for (query, message) in cases {
                let response = try await server.get("/api/jobs?\(query)")
                #expect(response.status == .badRequest, "\(query)")
                #expect(try response.json() == ["error": .string(message)], "\(query)")
            }
        }
    }

    @Test func lookupOfOneJob() async throws {
        try await withServer { server in
            let missing = try await server.get("/api/jobs/\(newUUID())")
            #expect(missing.status == .notFound)
            #expect(try missing.json() == ["error": "Job not found"])

            let blocker = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(blocker, ["in_progress"])
            let queued = try await server.submit(Prompts.emptyInvertSave(), extra: ["extra_data": ["extra_pnginfo": ["workflow": ["id": "wf"]]]])
            let pendingJob = try await server.getJSON("/api/jobs/\(queued)")
            #expect(pendingJob["status"] == "pending")
            #expect(pendingJob["workflow"]?["prompt"]?["3"]?["class_type"] == "SaveImage")
            #expect(pendingJob["workflow"]?["extra_data"]?["extra_pnginfo"] == ["workflow": ["id": "wf"]])
            #expect(pendingJob["outputs"] == nil)
            try await server.post("/interrupt")

            let job = try await server.waitForStatus(queued, ["completed"])
            #expect(job["id"] == .string(queued))
            #expect(job["outputs"]?["3"]?["images"]?.items.first?["filename"] == "test_00001_.png")
            #expect(job["execution_status"]?["status_str"] == "success")
            #expect(job["execution_status"]?["completed"] == true)
            #expect(job["workflow"]?["prompt"]?["1"]?["class_type"] == "EmptyImage")
            #expect(job["workflow_id"] == "wf")
        }
    }

    @Test(arguments: [StoreKind.sqlite, .memory])
    func cancelPendingAndRunningJobs(store: StoreKind) async throws {
        try await withServer(store: store) { server in
            let running = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(running, ["in_progress"])
            let pending = try await server.submit(Prompts.slow(steps: 1, seed: 9))

            let cancelPending = try await server.post("/api/jobs/\(pending)/cancel")
            #expect(cancelPending.status == .ok)
            #expect(try cancelPending.json() == ["cancelled": true])
            #expect(try await server.get("/api/jobs/\(pending)").status == .notFound)
            #expect(try await server.getJSON("/queue")["queue_pending"] == [])

            let cancelRunning = try await server.post("/api/jobs/\(running)/cancel")
            #expect(try cancelRunning.json() == ["cancelled": true])
            let job = try await server.waitForStatus(running, ["cancelled", "failed", "completed"])
            #expect(job["status"] == "cancelled")
            let entry = try await server.getJSON("/history/\(running)")[running]
            #expect(entry?["status"]?["status_str"] == "error")
            #expect(historyMessageTypes(entry ?? .null).contains("execution_interrupted"))

            // Finished and unknown jobs: nothing to cancel.
            #expect(try await server.post("/api/jobs/\(running)/cancel").json() == ["cancelled": false])
            #expect(try await server.post("/api/jobs/\(newUUID())/cancel").json() == ["cancelled": false])
        }
    }

    @Test func bulkCancel() async throws {
        try await withServer { server in
            let bad: [(String, JSONValue)] = [
                ("{not json", ["error": "Request body must be valid JSON"]),
                ("{\"job_ids\": \"abc\"}", ["error": "job_ids must be a list"]),
                ("{}", ["error": "job_ids must be a list"]),
                ("{\"job_ids\": [\"nope\", 7]}", ["error": "job_ids contains invalid id(s)", "invalid_ids": ["nope", 7]]),
            ]
            for (body, expected) in bad {
                let response = try await server.post("/api/jobs/cancel", text: body, headers: [.contentType: "application/json"])
                #expect(response.status == .badRequest, "\(body)")
                #expect(try response.json() == expected, "\(body)")
            }

            let running = try await server.submit(Prompts.slow(steps: 400))
            try await server.waitForStatus(running, ["in_progress"])
            let p1 = try await server.submit(Prompts.slow(steps: 1, seed: 11))
            let p2 = try await server.submit(Prompts.slow(steps: 1, seed: 12))
            let response = try await server.post("/api/jobs/cancel", json: ["job_ids": [.string(p1), .string(p2), .string(newUUID())]])
            #expect(response.status == .ok)
            #expect(try response.json() == ["cancelled": true])
            #expect(try await server.getJSON("/queue")["queue_pending"] == [])
            #expect(try await server.post("/api/jobs/cancel", json: ["job_ids": [.string(newUUID())]]).json() == ["cancelled": false])
            #expect(try await server.post("/api/jobs/cancel", json: ["job_ids": [.string(running)]]).json() == ["cancelled": true])
            try await server.waitForStatus(running, ["cancelled"])
        }
    }
}
