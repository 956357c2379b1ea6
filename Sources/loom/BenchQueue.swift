import ArgumentParser
import Foundation
import JobQueueSQLite
import MessageQueue

/// `loom bench queue`: the queue service's broker on the SQLite store (the durable path every put, commit and
/// delivery count takes): put throughput, delivery + commit throughput through a watch, and end-to-end latency
/// from put to delivery while puts keep arriving.
struct BenchQueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "Queue service put/deliver/commit throughput and latency.")

    @Option(help: "Items per phase.") var items = 2000
    @Option(help: "Item size in bytes.") var size = 2048
    @Option(help: "Concurrent putters.") var clients = 8
    @Option(help: "Watch window (uncommitted items in flight).") var window = 16

    func run() async throws {
        let directory = NSTemporaryDirectory() + "loom-bench-queue-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteQueueStore(path: directory + "/loom.sqlite")
        let broker = MessageBroker(store: store)
        try await broker.open(["bench": QueueSettings(maxLength: items * 4, maxPayloadBytes: max(size, 1))])
        let payload = [UInt8](repeating: 0x5A, count: size)
        print("SQLite store (WAL, synchronous=FULL), \(items) items of \(size) bytes, \(clients) putters, window \(window)")

        // 1. Puts from concurrent clients.
        var start = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<clients {
                group.addTask {
                    for i in stride(from: c, to: items, by: clients) {
                        _ = try await broker.put(queue: "bench", data: payload, tags: ["i": String(i)])
                    }
                }
            }
            try await group.waitForAll()
        }
        var seconds = Date().timeIntervalSince(start)
        print(String(format: "put:            %8.0f items/s (%.2f s)", Double(items) / seconds, seconds))

        // 2. Deliver the backlog through a watch and commit each item.
        start = Date()
        let (id, frames) = try await broker.openWatch(queue: "bench", index: 0, window: window, autoCommit: false, indexOnly: false,
                                                      filter: [:], consumer: "bench", group: "bench")
        var delivered = 0
        for await frame in frames {
            try await broker.commit(queue: "bench", indexes: [frame.index])
            delivered += 1
            if delivered == items { break }
        }
        seconds = Date().timeIntervalSince(start)
        print(String(format: "deliver+commit: %8.0f items/s (%.2f s)", Double(items) / seconds, seconds))
        await broker.closeWatch(id)
        await broker.flush()

        // 3. Latency: one putter at a steady pace, a watcher committing as it receives.
        let (id2, frames2) = try await broker.openWatch(queue: "bench", index: 0, window: window, autoCommit: false, indexOnly: false,
                                                        filter: [:], consumer: "bench", group: "bench")
        let count = min(items, 500)
        let putter = Task {
            for i in 0..<count {
                let stamp = String(DispatchTime.now().uptimeNanoseconds)
                _ = try await broker.put(queue: "bench", data: payload, tags: ["t": stamp, "i": String(i)])
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        var latencies: [Double] = []
        for await frame in frames2 {
            if let t = frame.tag("t"), let sent = UInt64(t) {
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - sent) / 1e6)
            }
            try await broker.commit(queue: "bench", indexes: [frame.index])
            if latencies.count == count { break }
        }
        try await putter.value
        await broker.closeWatch(id2)
        latencies.sort()
        func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(String(format: "put → delivery latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d items)",
                     pct(0.5), pct(0.99), latencies.last ?? 0, latencies.count))
        try store.close()
    }
}
