import Foundation
import GRDB
import JobQueue
import Workflow

/// A durable ``QueueStore`` in one SQLite file, through GRDB.
///
/// The file is opened as a `DatabasePool` in WAL mode with `synchronous = FULL`: a call that returned
/// has committed and fsynced its transaction, so an enqueued job survives both `kill -9` and power
/// loss. (`NORMAL` would survive a process crash but could lose the last transactions on power loss.)
/// Every mutating method is one IMMEDIATE write transaction on GRDB's serialized writer queue, which
/// makes ``claimNext(now:)`` atomic even against other processes sharing the file (they wait up to the
/// busy timeout). Reads run on GRDB's reader pool against a consistent snapshot. All database work
/// happens on GRDB's dispatch queues, not on the Swift cooperative pool.
///
/// Transitions are decided by ``JobStateMachine``; GRDB errors surface as ``QueueStoreError/storage(_:)``.
public final class SQLiteQueueStore: QueueStore {
    let writer: any DatabaseWriter

    private init(writer: any DatabaseWriter) throws(QueueStoreError) {
        self.writer = writer
        do { try Self.migrator.migrate(writer) } catch { throw Self.storageError(error) }
    }

    /// Opens (creating it and its parent directories if needed) the database at `path` and migrates it.
    /// - Parameters:
    ///   - path: The SQLite file. `-wal` and `-shm` files appear next to it.
    ///   - busyTimeout: How long a transaction waits for a lock held by another connection or process.
    /// - Throws: ``QueueStoreError/storage(_:)`` if the directory, file or schema cannot be set up.
    public convenience init(path: String, busyTimeout: TimeInterval = 10) throws(QueueStoreError) {
        var configuration = Configuration()
        configuration.label = "Loom.JobQueue"
        configuration.busyMode = .timeout(busyTimeout)
        let pool: DatabasePool
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` on the writer while it enables WAL, after any
            // `prepareDatabase` hook, so FULL is set here. The pool keeps this one writer connection
            // for its whole life, and only the writer commits.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw Self.storageError(error)
        }
        try self.init(writer: pool)
    }

    /// A store in a private in-memory database (one connection), for tests; it vanishes with the store.
    public static func inMemory() throws(QueueStoreError) -> SQLiteQueueStore {
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue() } catch { throw storageError(error) }
        return try SQLiteQueueStore(writer: queue)
    }

    /// Closes the database connections. Any later call on this store fails with a storage error.
    public func close() throws(QueueStoreError) {
        do { try writer.close() } catch { throw Self.storageError(error) }
    }

    // MARK: - Queue

    public func enqueue(_ job: NewJob) async throws -> JobRecord {
        let row = JobRow(job)
        return try await write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM job WHERE id = ?", arguments: [job.id]) != nil {
                throw QueueStoreError.duplicateID(job.id)
            }
            try row.insert(db)
            return JobRecord(job: job, state: .pending, attempts: 0, sequence: db.lastInsertedRowID)
        }
    }

    public func claimNext(now: Int64) async throws -> JobRecord? {
        try await write { db in
            let sql = "SELECT * FROM job WHERE state = 'pending' ORDER BY number, sequence LIMIT 1"
            guard let row = try Row.fetchOne(db, sql: sql) else { return nil }
            var record = try JobRow.record(from: row)
            var machine = JobStateMachine(record: record)
            let action = try machine.claim(now: now)
            try Self.persist(action, id: record.id, in: db)
            record.apply(action)
            return record
        }
    }

    public func finish(id: String, state target: JobState, result: JobResult, now: Int64) async throws {
        try await write { db in
            var machine = try Self.machine(id: id, in: db)
            let action = try machine.finish(as: target, now: now)
            try Self.persist(action, id: id, result: result, in: db)
        }
    }

    public func release(id: String) async throws {
        try await write { db in
            var machine = try Self.machine(id: id, in: db)
            try Self.persist(try machine.release(), id: id, in: db)
        }
    }

    public func recoverInterrupted(maxAttempts: Int, now: Int64,
                                   failureResult: @Sendable (JobRecord) -> JobResult) async throws -> RecoveryReport {
        try await write { db in
            var report = RecoveryReport()
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM job WHERE state = 'running' ORDER BY sequence")
            for row in rows {
                let record = try JobRow.record(from: row)
                var machine = JobStateMachine(record: record)
                let action = try machine.recover(maxAttempts: maxAttempts, now: now)
                if action == .requeue {
                    try Self.persist(action, id: record.id, in: db)
                    report.requeued.append(record.id)
                } else {
                    try Self.persist(action, id: record.id, result: failureResult(record), in: db)
                    report.failed.append(record.id)
                }
            }
            return report
        }
    }

    public func job(id: String) async throws -> JobRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(JobRow.record(from:))
        }
    }

    public func pending() async throws -> [JobRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM job WHERE state = 'pending' ORDER BY number, sequence")
                .map(JobRow.record(from:))
        }
    }

    public func running() async throws -> [JobRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM job WHERE state = 'running' ORDER BY sequence")
                .map(JobRow.record(from:))
        }
    }

    public func queueRemaining() async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE state IN ('pending', 'running')") ?? 0
        }
    }

    public func deletePending(ids: [String]) async throws -> [String] {
        try await write { db in
            var deleted: [String] = []
            for id in ids {
                guard var machine = try Self.machineIfPresent(id: id, in: db) else { continue }
                let action = machine.removeFromQueue()
                try Self.persist(action, id: id, in: db)
                if action == .delete { deleted.append(id) }
            }
            return deleted
        }
    }

    public func clearPending() async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM job WHERE state = 'pending'")
            return db.changesCount
        }
    }

    public func ping() async throws {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: - Plumbing

    /// Runs `updates` in one IMMEDIATE write transaction on GRDB's writer queue.
    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await writer.write(updates) } catch { throw Self.mapped(error) }
    }

    /// Runs `value` in a read-only transaction (a consistent snapshot) on GRDB's reader pool.
    func read<T: Sendable>(_ value: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await writer.read(value) } catch { throw Self.mapped(error) }
    }

    /// The writer connection's value of `PRAGMA name`, as text (lets tests check the connection set-up).
    func writerPragma(_ name: String) async throws -> String? {
        try await write { db in
            switch (try DatabaseValue.fetchOne(db, sql: "PRAGMA \(name)") ?? .null).storage {
            case .int64(let value): return String(value)
            case .string(let value): return value
            default: return nil
            }
        }
    }

    /// Passes ``QueueStoreError`` and cancellation through; anything else becomes a storage error.
    static func mapped(_ error: any Error) -> any Error {
        if error is QueueStoreError || error is CancellationError { return error }
        return QueueStoreError.storage(String(describing: error))
    }

    /// Any error as a ``QueueStoreError`` (for the synchronous, typed-throwing set-up calls).
    static func storageError(_ error: any Error) -> QueueStoreError {
        (error as? QueueStoreError) ?? QueueStoreError.storage(String(describing: error))
    }

    /// The state machine of a stored job, or `nil` when the id is unknown.
    static func machineIfPresent(id: String, in db: Database) throws -> JobStateMachine? {
        guard let row = try Row.fetchOne(db, sql: "SELECT state, attempts FROM job WHERE id = ?", arguments: [id])
        else { return nil }
        return JobStateMachine(id: id, state: try JobRow.state(from: row), attempts: try row.decode(forColumn: "attempts"))
    }

    /// The state machine of a stored job.
    /// - Throws: ``QueueStoreError/notFound(_:)`` when the id is unknown.
    static func machine(id: String, in db: Database) throws -> JobStateMachine {
        guard let machine = try machineIfPresent(id: id, in: db) else { throw QueueStoreError.notFound(id) }
        return machine
    }

    /// Writes what a ``JobStateMachine/Action`` means for job `id`.
    /// - Parameter result: Stored by a finish action, which also takes the next finish sequence.
    static func persist(_ action: JobStateMachine.Action, id: String, result: JobResult? = nil, in db: Database) throws {
        switch action {
        case .start(let attempts, let startTime):
            try db.execute(sql: "UPDATE job SET state = 'running', attempts = ?, start_time = ?, end_time = NULL WHERE id = ?",
                           arguments: [attempts, startTime, id])
        case .finish(let state, let endTime):
            let sequence = try Int64.fetchOne(db, sql: "SELECT value FROM counter WHERE name = 'finish_sequence'") ?? 1
            try db.execute(sql: "UPDATE counter SET value = ? WHERE name = 'finish_sequence'", arguments: [sequence + 1])
            try db.execute(sql: """
                UPDATE job SET state = ?, end_time = ?, outputs = ?, status = ?, meta = ?, finish_sequence = ?
                WHERE id = ?
                """, arguments: [state.rawValue, endTime, result?.outputs.jsonString(), result?.status.jsonString(),
                                 result?.meta.jsonString(), sequence, id])
        case .requeue:
            try db.execute(sql: "UPDATE job SET state = 'pending', start_time = NULL WHERE id = ?", arguments: [id])
        case .release(let attempts):
            try db.execute(sql: "UPDATE job SET state = 'pending', attempts = ?, start_time = NULL WHERE id = ?",
                           arguments: [attempts, id])
        case .delete:
            try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id])
        case .none:
            break
        }
    }
}
