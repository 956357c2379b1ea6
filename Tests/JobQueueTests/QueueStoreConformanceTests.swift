import JobQueue
import Testing
import Workflow

/// The queue half of the driver conformance suite: every test runs against every ``StoreKind``.
@Suite("QueueStore conformance: queue")
struct QueueStoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func enqueueStoresPendingJob(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            let first = try await store.enqueue(makeJob("a"))
            let second = try await store.enqueue(makeJob("b"))
            #expect(first.state == .pending && first.attempts == 0 && first.startTime == nil && first.result == nil)
            #expect(first.sequence < second.sequence)
            #expect(try await store.job(id: "a") == first)
            #expect(try await store.job(id: "missing") == nil)
            #expect(try await store.queueRemaining() == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func enqueueIsDurableAcrossReopen(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let records = try await fixture.store.enqueue([makeJob("a", number: 2), makeJob("b"), makeJob("c")])
            try await fixture.store.run("b")
            try fixture.reopen()
            let store = fixture.store
            #expect(try await store.pending() == [records[2], records[0]])  // number 0 before number 2
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["b"])
            // Sequences keep growing after a reopen, so new jobs queue behind the old ones.
            let d = try await store.enqueue(makeJob("d"))
            #expect(d.sequence > records[2].sequence)
            #expect(try await store.claimAll() == ["c", "d", "a"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func duplicateIDIsRefused(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            _ = try await store.enqueue(makeJob("a"))
            await #expect(throws: QueueStoreError.duplicateID("a")) { try await store.enqueue(makeJob("a", number: -1)) }
            try await store.run("a")
            await #expect(throws: QueueStoreError.duplicateID("a")) { try await store.enqueue(makeJob("a")) }
            #expect(try await store.queueRemaining() == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func equalNumbersRunFirstInFirstOut(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            let ids = (0..<6).map { "job-\($0)" }
            try await store.enqueue(ids.map { makeJob($0) })
            #expect(try await store.pending().map(\.id) == ids)
            #expect(try await store.claimAll() == ids)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func lowerNumberRunsFirstAndTiesKeepSubmissionOrder(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await store.enqueue([makeJob("five", number: 5), makeJob("one-a", number: 1), makeJob("three", number: 3),
                                     makeJob("front", number: -2), makeJob("one-b", number: 1),
                                     makeJob("front-later", number: -1.5)])
            let order = ["front", "front-later", "one-a", "one-b", "three", "five"]
            #expect(try await store.pending().map(\.id) == order)
            #expect(try await store.claimAll() == order)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func claimMarksRunning(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            #expect(try await store.claimNext(now: 1) == nil)
            let queued = try await store.enqueue(makeJob("a"))
            _ = try await store.enqueue(makeJob("b"))
            let claimed = try #require(try await store.claimNext(now: 1_234))
            #expect(claimed.id == "a" && claimed.state == .running && claimed.attempts == 1)
            #expect(claimed.startTime == 1_234 && claimed.sequence == queued.sequence)
            #expect(try await store.job(id: "a") == claimed)
            #expect(try await store.running() == [claimed])
            #expect(try await store.pending().map(\.id) == ["b"])
            #expect(try await store.queueRemaining() == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersTakeEachJobOnce(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            let ids = (0..<50).map { "job-\($0)" }
            try await store.enqueue(ids.map { makeJob($0) })
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<8 {
                    group.addTask { try await store.claimAll(now: Int64(worker)) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.count == 50)
            #expect(Set(claimed) == Set(ids))
            #expect(try await store.running().allSatisfy { $0.attempts == 1 })
            #expect(try await store.pending().isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func finishRecordsOutcome(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await store.enqueue([makeJob("ok"), makeJob("bad"), makeJob("stop")])
            var finishSequences: [Int64] = []
            for (id, state) in [("ok", JobState.completed), ("bad", .failed), ("stop", .cancelled)] {
                _ = try await store.claimNext(now: 100)
                try await store.finish(id: id, state: state, result: makeResult(state.rawValue), now: 250)
                let record = try #require(try await store.job(id: id))
                #expect(record.state == state && record.startTime == 100 && record.endTime == 250)
                #expect(record.result == makeResult(state.rawValue))
                finishSequences.append(try #require(record.finishSequence))
            }
            #expect(finishSequences == finishSequences.sorted() && Set(finishSequences).count == 3)
            #expect(try await store.queueRemaining() == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func invalidTransitionsThrowAndChangeNothing(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await store.enqueue([makeJob("a"), makeJob("b")])
            await #expect(throws: QueueStoreError.invalidTransition(id: "a", from: .pending, to: .completed)) {
                try await store.finish(id: "a", state: .completed, result: makeResult(), now: 1)
            }
            _ = try await store.claimNext(now: 1)
            await #expect(throws: QueueStoreError.invalidTransition(id: "a", from: .running, to: .pending)) {
                try await store.finish(id: "a", state: .pending, result: makeResult(), now: 1)
            }
            await #expect(throws: QueueStoreError.invalidTransition(id: "a", from: .running, to: .running)) {
                try await store.finish(id: "a", state: .running, result: makeResult(), now: 1)
            }
            #expect(try await store.job(id: "a")?.state == .running)
            try await store.finish(id: "a", state: .completed, result: makeResult(), now: 2)
            await #expect(throws: QueueStoreError.invalidTransition(id: "a", from: .completed, to: .failed)) {
                try await store.finish(id: "a", state: .failed, result: makeResult("error"), now: 3)
            }
            await #expect(throws: QueueStoreError.notFound("nope")) {
                try await store.finish(id: "nope", state: .completed, result: makeResult(), now: 3)
            }
            let a = try #require(try await store.job(id: "a"))
            #expect(a.state == .completed && a.endTime == 2 && a.result == makeResult())
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["a"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func recoveryRequeuesThenFails(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            try await fixture.store.enqueue([makeJob("a"), makeJob("b"), makeJob("c"), makeJob("d")])
            try await fixture.store.run("a")
            #expect(try await fixture.store.claimNext(now: 10)?.id == "b")
            #expect(try await fixture.store.claimNext(now: 10)?.id == "c")
            try fixture.reopen()  // the "crash"
            let failure: @Sendable (JobRecord) -> JobResult = { record in
                JobResult(outputs: [:], status: ["status_str": "error", "completed": false,
                                                 "messages": [["execution_interrupted", ["prompt_id": .string(record.id)]]]],
                          meta: [:])
            }
            let first = try await fixture.store.recoverInterrupted(maxAttempts: 2, now: 20, failureResult: failure)
            #expect(first == RecoveryReport(requeued: ["b", "c"], failed: []))
            let b = try #require(try await fixture.store.job(id: "b"))
            #expect(b.state == .pending && b.attempts == 1 && b.startTime == nil && b.result == nil)
            #expect(try await fixture.store.pending().map(\.id) == ["b", "c", "d"])
            #expect(try await fixture.store.running().isEmpty)

            // Second attempt at b crashes too: attempts (2) reached maxAttempts, so it fails.
            let again = try #require(try await fixture.store.claimNext(now: 30))
            #expect(again.id == "b" && again.attempts == 2 && again.startTime == 30)
            try fixture.reopen()
            let second = try await fixture.store.recoverInterrupted(maxAttempts: 2, now: 40, failureResult: failure)
            #expect(second == RecoveryReport(requeued: [], failed: ["b"]))
            let failed = try #require(try await fixture.store.job(id: "b"))
            #expect(failed.state == .failed && failed.endTime == 40 && failed.startTime == 30 && failed.attempts == 2)
            #expect(failed.result == failure(again) && failed.finishSequence != nil)
            #expect(try await fixture.store.history(offset: 0, limit: nil).map(\.id) == ["a", "b"])
            #expect(try await fixture.store.pending().map(\.id) == ["c", "d"])
            #expect(try await fixture.store.recoverInterrupted(maxAttempts: 2, now: 50, failureResult: failure) == RecoveryReport())
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releaseRequeuesWithoutCountingTheAttempt(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            try await fixture.store.enqueue([makeJob("a"), makeJob("b")])
            let claimed = try #require(try await fixture.store.claimNext(now: 10))
            #expect(claimed.id == "a" && claimed.attempts == 1)
            try await fixture.store.release(id: "a")
            let released = try #require(try await fixture.store.job(id: "a"))
            #expect(released.state == .pending && released.attempts == 0 && released.startTime == nil)
            // It keeps its place at the head of the queue, and survives a reopen.
            try fixture.reopen()
            #expect(try await fixture.store.pending().map(\.id) == ["a", "b"])
            // Only running jobs can be released.
            await #expect(throws: QueueStoreError.self) { try await fixture.store.release(id: "a") }
            await #expect(throws: QueueStoreError.notFound("missing")) { try await fixture.store.release(id: "missing") }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deletePendingIgnoresOtherStates(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await store.enqueue([makeJob("done"), makeJob("run"), makeJob("p1"), makeJob("p2"), makeJob("p3")])
            try await store.run("done")
            _ = try await store.claimNext(now: 1)
            let deleted = try await store.deletePending(ids: ["run", "p3", "unknown", "done", "p1", "p3"])
            #expect(deleted == ["p3", "p1"])
            #expect(try await store.pending().map(\.id) == ["p2"])
            #expect(try await store.running().map(\.id) == ["run"])
            #expect(try await store.job(id: "done")?.state == .completed)
            #expect(try await store.job(id: "p1") == nil)
            // A deleted id is forgotten and may be submitted again.
            _ = try await store.enqueue(makeJob("p1"))
            #expect(try await store.pending().map(\.id) == ["p2", "p1"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func clearPendingKeepsRunningAndHistory(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            let store = fixture.store
            try await store.enqueue([makeJob("done"), makeJob("run"), makeJob("p1"), makeJob("p2")])
            try await store.run("done")
            _ = try await store.claimNext(now: 1)
            #expect(try await store.clearPending() == 2)
            #expect(try await store.clearPending() == 0)
            #expect(try await store.pending().isEmpty)
            #expect(try await store.queueRemaining() == 1)
            #expect(try await store.running().map(\.id) == ["run"])
            #expect(try await store.history(offset: 0, limit: nil).map(\.id) == ["done"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pingSucceeds(kind: StoreKind) async throws {
        try await withStore(kind) { fixture in
            try await fixture.store.ping()
        }
    }
}
