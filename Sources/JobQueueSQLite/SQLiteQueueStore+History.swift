import GRDB
import JobQueue

extension SQLiteQueueStore {
    public func history(offset: Int, limit: Int?) async throws -> [JobRecord] {
        try await read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE finish_sequence IS NOT NULL") ?? 0
            let window = QueuePaging.window(total: total, offset: offset, limit: limit)
            guard !window.isEmpty else { return [] }
            return try Row.fetchAll(db, sql: """
                SELECT * FROM job WHERE finish_sequence IS NOT NULL ORDER BY finish_sequence LIMIT ? OFFSET ?
                """, arguments: [window.count, window.lowerBound]).map(JobRow.record(from:))
        }
    }

    /// Filters in SQL on the indexed `state`, `workflow_id` and `owner` columns.
    ///
    /// Sorting follows ``JobQuery/areInIncreasingOrder(_:_:)``: by create time then sequence, or by
    /// execution duration (0 for jobs without both start and end time), then create time, then sequence;
    /// `descending` reverses every key.
    public func jobs(_ query: JobQuery) async throws -> JobPage {
        guard !query.states.isEmpty else { return JobPage(jobs: [], total: 0) }
        var conditions = ["state IN (\(Array(repeating: "?", count: query.states.count).joined(separator: ", ")))"]
        var arguments = StatementArguments(query.states.map(\.rawValue).sorted())
        if let workflowID = query.workflowID {
            conditions.append("workflow_id = ?")
            arguments += [workflowID]
        }
        if let owner = query.owner {
            conditions.append("owner = ?")
            arguments += [owner]
        }
        let filter = "WHERE " + conditions.joined(separator: " AND ")
        let direction = query.descending ? "DESC" : "ASC"
        var keys = ["create_time", "sequence"]
        if query.sortBy == .executionDuration {
            keys.insert("(CASE WHEN start_time IS NOT NULL AND end_time IS NOT NULL THEN end_time - start_time ELSE 0 END)",
                        at: 0)
        }
        let order = "ORDER BY " + keys.map { "\($0) \(direction)" }.joined(separator: ", ")
        let pageArguments = arguments
        return try await read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job \(filter)", arguments: pageArguments) ?? 0
            let window = QueuePaging.window(total: total, offset: max(0, query.offset), limit: query.limit)
            guard !window.isEmpty else { return JobPage(jobs: [], total: total) }
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM job \(filter) \(order) LIMIT ? OFFSET ?",
                                        arguments: pageArguments + [window.count, window.lowerBound])
            return JobPage(jobs: try rows.map(JobRow.record(from:)), total: total)
        }
    }

    public func deleteHistory(ids: [String]) async throws {
        try await write { db in
            for id in ids {
                guard var machine = try Self.machineIfPresent(id: id, in: db) else { continue }
                try Self.persist(machine.removeFromHistory(), id: id, in: db)
            }
        }
    }

    public func clearHistory() async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM job WHERE finish_sequence IS NOT NULL")
        }
    }

    /// Drops finished jobs that ended before `olderThan`, then the oldest completions beyond `maxCount`.
    public func pruneHistory(maxCount: Int?, olderThan: Int64?) async throws {
        try await write { db in
            if let olderThan {
                try db.execute(sql: "DELETE FROM job WHERE finish_sequence IS NOT NULL AND end_time < ?",
                               arguments: [olderThan])
            }
            if let maxCount {
                // The newest finish sequence to drop is the one just past the `maxCount` newest.
                try db.execute(sql: """
                    DELETE FROM job WHERE finish_sequence IS NOT NULL AND finish_sequence <= (
                        SELECT finish_sequence FROM job WHERE finish_sequence IS NOT NULL
                        ORDER BY finish_sequence DESC LIMIT 1 OFFSET ?)
                    """, arguments: [max(0, maxCount)])
            }
        }
    }
}
