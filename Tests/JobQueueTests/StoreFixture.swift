import Foundation
import JobQueue
import JobQueueSQLite
import Testing
import Workflow

/// The drivers the conformance suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    /// A `DatabasePool` on a file in a fresh temporary directory.
    case sqliteFile
    /// A private in-memory SQLite database.
    case sqliteMemory

    var testDescription: String { rawValue }
}

/// A store of one kind, able to close and reopen itself (which, for the SQLite file driver, proves
/// that what was stored is on disk).
struct StoreFixture {
    let kind: StoreKind
    let directory: URL
    private(set) var store: any QueueStore

    var path: String { directory.appendingPathComponent("nested/queue.sqlite").path }

    init(_ kind: StoreKind) throws {
        self.kind = kind
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-jobqueue-\(UUID().uuidString)")
        switch kind {
        case .memory: store = MemoryQueueStore()
        case .sqliteFile: store = try SQLiteQueueStore(path: directory.appendingPathComponent("nested/queue.sqlite").path)
        case .sqliteMemory: store = try SQLiteQueueStore.inMemory()
        }
    }

    /// Closes and reopens a file store; other stores cannot be reopened and stay as they are.
    mutating func reopen() throws {
        guard kind == .sqliteFile, let sqlite = store as? SQLiteQueueStore else { return }
        try sqlite.close()
        store = try SQLiteQueueStore(path: path)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` with a fresh store of `kind` and deletes its files afterwards.
func withStore(_ kind: StoreKind, _ body: (inout StoreFixture) async throws -> Void) async throws {
    var fixture = try StoreFixture(kind)
    defer { fixture.remove() }
    try await body(&fixture)
}

/// A job with a readable id; `number` defaults to 0, as equal default numbers test FIFO order.
func makeJob(_ id: String, number: Double = 0, createTime: Int64 = 1_000, workflowID: String? = nil,
             owner: String? = nil) -> NewJob {
    var extra = JSONObject([("client_id", "client-1")])
    if let workflowID {
        extra["extra_pnginfo"] = ["workflow": ["id": .string(workflowID), "nodes": []]]
    }
    return NewJob(id: id, number: number, prompt: ["1": ["class_type": "KSampler", "inputs": ["seed": 42]]],
                  extraData: .object(extra), outputsToExecute: ["9"], createTime: createTime, owner: owner)
}

/// A result in ComfyUI's history shape.
func makeResult(_ status: String = "success") -> JobResult {
    JobResult(outputs: ["9": ["images": [["filename": "a.png", "subfolder": "", "type": "output"]]]],
              status: ["status_str": .string(status), "completed": .bool(status == "success"), "messages": []],
              meta: ["9": ["node_id": "9", "display_node": "9", "parent_node": nil, "real_node_id": "9"]])
}

extension QueueStore {
    /// Enqueues jobs in order.
    @discardableResult
    func enqueue(_ jobs: [NewJob]) async throws -> [JobRecord] {
        var records: [JobRecord] = []
        for job in jobs { records.append(try await enqueue(job)) }
        return records
    }

    /// Claims every pending job, in order, returning their ids.
    func claimAll(now: Int64 = 2_000) async throws -> [String] {
        var ids: [String] = []
        while let record = try await claimNext(now: now) { ids.append(record.id) }
        return ids
    }

    /// Claims the next job, which must be `id`, and finishes it.
    func run(_ id: String, as state: JobState = .completed, start: Int64 = 2_000, end: Int64 = 3_000) async throws {
        let claimed = try await claimNext(now: start)
        #expect(claimed?.id == id)
        try await finish(id: id, state: state, result: makeResult(), now: end)
    }
}
