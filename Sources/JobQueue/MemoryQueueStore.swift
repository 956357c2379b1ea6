import Synchronization

/// A ``QueueStore`` that keeps everything in memory, for unit tests and ephemeral servers.
///
/// Every method runs under one `Mutex`, so each call is atomic. Nothing survives the process.
public final class MemoryQueueStore: QueueStore {
    private struct State {
        var records: [String: JobRecord] = [:]
        var nextSequence: Int64 = 1
        var nextFinishSequence: Int64 = 1

        mutating func takeFinishSequence() -> Int64 {
            defer { nextFinishSequence += 1 }
            return nextFinishSequence
        }

        /// Finished jobs in completion order.
        var history: [JobRecord] {
            records.values.filter { $0.finishSequence != nil }.sorted { $0.finishSequence! < $1.finishSequence! }
        }
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    public init() {}

    public func enqueue(_ job: NewJob) async throws -> JobRecord {
        try state.withLock { (s: inout State) throws(QueueStoreError) -> JobRecord in
            guard s.records[job.id] == nil else { throw QueueStoreError.duplicateID(job.id) }
            let record = JobRecord(job: job, state: .pending, attempts: 0, sequence: s.nextSequence)
            s.nextSequence += 1
            s.records[job.id] = record
            return record
        }
    }

    public func claimNext(now: Int64) async throws -> JobRecord? {
        try state.withLock { (s: inout State) throws(QueueStoreError) -> JobRecord? in
            guard var record = Self.runOrder(s.records.values.filter { $0.state == .pending }).first else { return nil }
            var machine = JobStateMachine(record: record)
            record.apply(try machine.claim(now: now))
            s.records[record.id] = record
            return record
        }
    }

    public func finish(id: String, state target: JobState, result: JobResult, now: Int64) async throws {
        try state.withLock { (s: inout State) throws(QueueStoreError) in
            guard var record = s.records[id] else { throw QueueStoreError.notFound(id) }
            var machine = JobStateMachine(record: record)
            let action = try machine.finish(as: target, now: now)
            record.apply(action, result: result, finishSequence: s.takeFinishSequence())
            s.records[id] = record
        }
    }

    public func release(id: String) async throws {
        try state.withLock { (s: inout State) throws(QueueStoreError) in
            guard var record = s.records[id] else { throw QueueStoreError.notFound(id) }
            var machine = JobStateMachine(record: record)
            record.apply(try machine.release())
            s.records[id] = record
        }
    }

    public func recoverInterrupted(maxAttempts: Int, now: Int64,
                                   failureResult: @Sendable (JobRecord) -> JobResult) async throws -> RecoveryReport {
        try state.withLock { (s: inout State) throws(QueueStoreError) -> RecoveryReport in
            var report = RecoveryReport()
            let running = s.records.values.filter { $0.state == .running }.sorted { $0.sequence < $1.sequence }
            for var record in running {
                var machine = JobStateMachine(record: record)
                let action = try machine.recover(maxAttempts: maxAttempts, now: now)
                if action == .requeue {
                    record.apply(action)
                    report.requeued.append(record.id)
                } else {
                    record.apply(action, result: failureResult(record), finishSequence: s.takeFinishSequence())
                    report.failed.append(record.id)
                }
                s.records[record.id] = record
            }
            return report
        }
    }

    public func job(id: String) async throws -> JobRecord? {
        state.withLock { $0.records[id] }
    }

    public func pending() async throws -> [JobRecord] {
        state.withLock { Self.runOrder($0.records.values.filter { $0.state == .pending }) }
    }

    public func running() async throws -> [JobRecord] {
        state.withLock { $0.records.values.filter { $0.state == .running }.sorted { $0.sequence < $1.sequence } }
    }

    public func queueRemaining() async throws -> Int {
        state.withLock { $0.records.values.count { $0.state == .pending || $0.state == .running } }
    }

    public func history(offset: Int, limit: Int?) async throws -> [JobRecord] {
        state.withLock { s in
            let history = s.history
            return Array(history[QueuePaging.window(total: history.count, offset: offset, limit: limit)])
        }
    }

    public func jobs(_ query: JobQuery) async throws -> JobPage {
        state.withLock { s in
            let matching = s.records.values.filter(query.matches).sorted(by: query.areInIncreasingOrder)
            let window = QueuePaging.window(total: matching.count, offset: max(0, query.offset), limit: query.limit)
            return JobPage(jobs: Array(matching[window]), total: matching.count)
        }
    }

    public func deletePending(ids: [String]) async throws -> [String] {
        state.withLock { s in
            var deleted: [String] = []
            for id in ids {
                guard let record = s.records[id] else { continue }
                var machine = JobStateMachine(record: record)
                if machine.removeFromQueue() == .delete {
                    s.records[id] = nil
                    deleted.append(id)
                }
            }
            return deleted
        }
    }

    public func clearPending() async throws -> Int {
        state.withLock { s in
            let ids = s.records.values.filter { $0.state == .pending }.map(\.id)
            for id in ids { s.records[id] = nil }
            return ids.count
        }
    }

    public func deleteHistory(ids: [String]) async throws {
        state.withLock { s in
            for id in ids {
                guard let record = s.records[id] else { continue }
                var machine = JobStateMachine(record: record)
                if machine.removeFromHistory() == .delete { s.records[id] = nil }
            }
        }
    }

    public func clearHistory() async throws {
        state.withLock { s in
            for record in s.history { s.records[record.id] = nil }
        }
    }

    public func pruneHistory(maxCount: Int?, olderThan: Int64?) async throws {
        state.withLock { s in
            var history = s.history
            if let olderThan {
                let expired = history.filter { ($0.endTime ?? olderThan) < olderThan }
                for record in expired { s.records[record.id] = nil }
                history.removeAll { ($0.endTime ?? olderThan) < olderThan }
            }
            if let maxCount, history.count > max(0, maxCount) {
                for record in history.prefix(history.count - max(0, maxCount)) { s.records[record.id] = nil }
            }
        }
    }

    public func ping() async throws {}

    /// Pending jobs in the order workers take them: lowest `number`, then lowest `sequence`.
    private static func runOrder(_ records: some Sequence<JobRecord>) -> [JobRecord] {
        records.sorted { ($0.job.number, $0.sequence) < ($1.job.number, $1.sequence) }
    }
}
