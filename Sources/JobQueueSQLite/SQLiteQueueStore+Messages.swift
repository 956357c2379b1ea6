import Foundation
import GRDB
import MessageQueue
import Workflow

/// The queue service's items live in the same SQLite file as the job queue (tables `mq_queue`, `mq_item`),
/// written with the same durability (WAL, `synchronous = FULL`): a put that answered survives a crash.
extension SQLiteQueueStore: MessageStore {
    public func loadQueues() async throws -> [String: (nextIndex: UInt64, items: [QueueItem])] {
        try await writer.read { db in
            var result: [String: (nextIndex: UInt64, items: [QueueItem])] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, next_index FROM mq_queue") {
                let name: String = row["name"]
                let next: Int64 = row["next_index"]
                result[name] = (UInt64(max(next, 1)), [])
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT queue, idx, priority, data, tags, deliveries, created_at FROM mq_item ORDER BY queue, idx
                """)
            for row in rows {
                let queue: String = row["queue"]
                let index: Int64 = row["idx"]
                let tagsText: String = row["tags"]
                var tags: [String: String] = [:]
                if case .object(let object)? = try? JSONValue.parse(tagsText) {
                    for (key, value) in object { if let s = value.stringValue { tags[key] = s } }
                }
                let data: Data = row["data"]
                let item = QueueItem(index: UInt64(index), data: [UInt8](data), tags: tags,
                                     priority: (row["priority"] as Int64) != 0, deliveries: Int(row["deliveries"] as Int64),
                                     createdAt: row["created_at"])
                var entry = result[queue] ?? (item.index + 1, [])
                entry.items.append(item)
                entry.nextIndex = max(entry.nextIndex, item.index + 1)
                result[queue] = entry
            }
            return result
        }
    }

    public func insert(_ item: QueueItem, queue: String, evicting: [UInt64]) async throws {
        let tags = JSONValue.object(JSONObject(item.tags.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
            .jsonString()
        try await writer.write { db in
            for index in evicting {
                try db.execute(sql: "DELETE FROM mq_item WHERE queue = ? AND idx = ?", arguments: [queue, Int64(index)])
            }
            try db.execute(sql: """
                INSERT INTO mq_item (queue, idx, priority, data, tags, deliveries, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [queue, Int64(item.index), item.priority ? 1 : 0, Data(item.data), tags, item.deliveries,
                                 item.createdAt])
            try db.execute(sql: """
                INSERT INTO mq_queue (name, next_index) VALUES (?, ?)
                ON CONFLICT(name) DO UPDATE SET next_index = max(next_index, excluded.next_index)
                """, arguments: [queue, Int64(item.index + 1)])
        }
    }

    public func remove(queue: String, indexes: [UInt64]) async throws {
        guard !indexes.isEmpty else { return }
        try await writer.write { db in
            for index in indexes {
                try db.execute(sql: "DELETE FROM mq_item WHERE queue = ? AND idx = ?", arguments: [queue, Int64(index)])
            }
        }
    }

    public func setDeliveries(queue: String, index: UInt64, deliveries: Int) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE mq_item SET deliveries = ? WHERE queue = ? AND idx = ?",
                           arguments: [deliveries, queue, Int64(index)])
        }
    }
}
