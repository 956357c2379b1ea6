import Foundation

/// One item of a queue: its bytes, tags and place in the delivery order.
public struct QueueItem: Sendable, Equatable {
    /// Assigned at put: strictly increasing per queue from 1, never reused.
    public var index: UInt64
    public var data: [UInt8]
    /// Tags sorted by key; always includes `requestId`.
    public var tags: [String: String]
    /// High-priority items are delivered before normal ones.
    public var priority: Bool
    /// How many times a watcher has been given it (for the delivery limit).
    public var deliveries: Int
    /// Unix milliseconds of the put.
    public var createdAt: Int64

    public init(index: UInt64, data: [UInt8], tags: [String: String], priority: Bool = false, deliveries: Int = 0,
                createdAt: Int64 = 0) {
        self.index = index
        self.data = data
        self.tags = tags
        self.priority = priority
        self.deliveries = deliveries
        self.createdAt = createdAt
    }

    /// The request id the server assigned at put.
    public var requestID: String { tags["requestId"] ?? "" }

    /// Whether every filter tag is present with the same value.
    public func matches(_ filter: [String: String]) -> Bool {
        filter.allSatisfy { tags[$0.key] == $0.value }
    }

    /// The protobuf frame for this item (`indexOnly` leaves out the data).
    public func frame(indexOnly: Bool = false, message: String = "") -> QueueProto.Frame {
        QueueProto.Frame(index: index, tags: tags.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) },
                         data: indexOnly ? [] : data, message: message)
    }
}

/// What a queue allows (per service; the sink shares its service's settings).
public struct QueueSettings: Sendable, Equatable {
    /// Most items held; a put beyond it evicts the oldest (``evictOldest``) or is refused.
    public var maxLength: Int
    /// Largest item body in bytes.
    public var maxPayloadBytes: Int
    /// Drop the oldest item to make room instead of refusing a put.
    public var evictOldest: Bool
    /// Deliveries an item may have before it is dropped as undeliverable (0: no limit).
    public var maxDelivery: Int

    public init(maxLength: Int = 10_000, maxPayloadBytes: Int = 16 << 20, evictOldest: Bool = false, maxDelivery: Int = 0) {
        self.maxLength = maxLength
        self.maxPayloadBytes = maxPayloadBytes
        self.evictOldest = evictOldest
        self.maxDelivery = maxDelivery
    }
}

/// Durable storage of queue items. The broker keeps the working state in memory and writes every change
/// through before answering, so a restart loses nothing: items, the next index of each queue and delivery
/// counts survive; which watcher held an uncommitted item does not (after a restart it is deliverable again,
/// which at-least-once delivery allows).
public protocol MessageStore: Sendable {
    /// Every queue's items (in index order) and next index.
    func loadQueues() async throws -> [String: (nextIndex: UInt64, items: [QueueItem])]
    /// Stores a new item and advances the queue's next index past it; removes `evicting` in the same transaction.
    func insert(_ item: QueueItem, queue: String, evicting: [UInt64]) async throws
    /// Removes items (unknown indexes are ignored).
    func remove(queue: String, indexes: [UInt64]) async throws
    /// Records an item's delivery count.
    func setDeliveries(queue: String, index: UInt64, deliveries: Int) async throws
}

/// A ``MessageStore`` in memory, for tests and for queues that need not survive a restart.
public actor MemoryMessageStore: MessageStore {
    private var queues: [String: (nextIndex: UInt64, items: [UInt64: QueueItem])] = [:]

    public init() {}

    public func loadQueues() -> [String: (nextIndex: UInt64, items: [QueueItem])] {
        queues.mapValues { ($0.nextIndex, $0.items.values.sorted { $0.index < $1.index }) }
    }

    public func insert(_ item: QueueItem, queue: String, evicting: [UInt64]) {
        var q = queues[queue] ?? (1, [:])
        for i in evicting { q.items[i] = nil }
        q.items[item.index] = item
        q.nextIndex = max(q.nextIndex, item.index + 1)
        queues[queue] = q
    }

    public func remove(queue: String, indexes: [UInt64]) {
        for i in indexes { queues[queue]?.items[i] = nil }
    }

    public func setDeliveries(queue: String, index: UInt64, deliveries: Int) {
        queues[queue]?.items[index]?.deliveries = deliveries
    }
}

/// Parses a `_timeout_` value: Go duration syntax (`5s`, `500ms`, `1m30s`, `1.5h`) or a bare number of seconds.
/// - Returns: seconds, or nil when it cannot be parsed.
public func parseQueueDuration(_ text: String) -> Double? {
    let s = text.trimmingCharacters(in: .whitespaces)
    if s.isEmpty { return nil }
    if let plain = Double(s) { return plain >= 0 ? plain : nil }
    let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
    var total = 0.0
    var rest = Substring(s)
    while !rest.isEmpty {
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number) else { return nil }
        rest = rest.dropFirst(number.count)
        guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
        rest = rest.dropFirst(unit.count)
        total += value * scale
    }
    return total
}
