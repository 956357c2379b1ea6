import Foundation
import JobQueue
@testable import JobQueueSQLite
import Testing
import Workflow

/// Behaviour only the SQLite driver has: files on disk, several connections to one file, closing.
@Suite("SQLiteQueueStore")
struct SQLiteQueueStoreTests {
    @Test func createsParentDirectoriesAndWALFile() async throws {
        try await withStore(.sqliteFile) { fixture in
            _ = try await fixture.store.enqueue(makeJob("a"))
            #expect(FileManager.default.fileExists(atPath: fixture.path))
            #expect(FileManager.default.fileExists(atPath: fixture.path + "-wal"))
        }
    }

    @Test func fileStoreUsesWALWithFullSync() async throws {
        try await withStore(.sqliteFile) { fixture in
            let store = try #require(fixture.store as? SQLiteQueueStore)
            #expect(try await store.writerPragma("journal_mode") == "wal")
            #expect(try await store.writerPragma("synchronous") == "2")  // FULL
            #expect(try await store.writerPragma("busy_timeout") == "10000")
        }
    }

    @Test func twoStoresOnOneFileClaimEachJobOnce() async throws {
        try await withStore(.sqliteFile) { fixture in
            let other = try SQLiteQueueStore(path: fixture.path)
            let stores: [any QueueStore] = [fixture.store, other]
            let ids = (0..<40).map { "job-\($0)" }
            for (index, id) in ids.enumerated() { _ = try await stores[index % 2].enqueue(makeJob(id)) }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<6 {
                    group.addTask { try await stores[worker % 2].claimAll(now: Int64(worker)) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.count == ids.count && Set(claimed) == Set(ids))
            try other.close()
        }
    }

    @Test func finishSequenceKeepsGrowingAfterHistoryIsCleared() async throws {
        try await withStore(.sqliteFile) { fixture in
            _ = try await fixture.store.enqueue(makeJob("a"))
            try await fixture.store.run("a")
            let first = try #require(try await fixture.store.job(id: "a")?.finishSequence)
            try await fixture.store.clearHistory()
            try fixture.reopen()
            _ = try await fixture.store.enqueue(makeJob("b"))
            try await fixture.store.run("b")
            #expect(try #require(try await fixture.store.job(id: "b")?.finishSequence) > first)
        }
    }

    @Test func closedStoreReportsStorageError() async throws {
        try await withStore(.sqliteFile) { fixture in
            let store = try #require(fixture.store as? SQLiteQueueStore)
            try store.close()
            await #expect {
                try await store.ping()
            } throws: { error in
                if case .storage = error as? QueueStoreError { return true }
                return false
            }
        }
    }

    @Test func unusablePathIsAStorageError() throws {
        #expect {
            _ = try SQLiteQueueStore(path: "/proc/loom-cannot-create/queue.sqlite")
        } throws: { error in
            if case .storage = error as? QueueStoreError { return true }
            return false
        }
    }
}
