import Foundation

/// Why a queue operation was refused.
public enum QueueError: Error, Sendable, Equatable {
    /// No queue of that name is declared.
    case unknownQueue(String)
    /// The queue holds its maximum and does not evict.
    case full(queue: String, maxLength: Int)
    /// The body is over the queue's payload limit.
    case payloadTooLarge(size: Int, limit: Int)
    /// The store failed; nothing changed.
    case storage(String)
}

/// The queue service's broker: every declared queue's items in memory, written through to a durable
/// ``MessageStore`` before any call returns, plus the volatile delivery state — which watcher holds which
/// uncommitted item, windows, long-poll waiters.
///
/// Delivery order is priority items first, then ascending index. A watcher receives an item only if no other
/// watcher of its consumer group holds it; a connection that closes gives its uncommitted items back. Commit and
/// delete remove items for everyone (a deliberate simplification of EAS's per-group copies). An item that has
/// been delivered `maxDelivery` times is dropped when it would be delivered again, and reported through
/// ``setUndeliverableHandler(_:)``.
public actor MessageBroker {
    struct Queue {
        var settings: QueueSettings
        var nextIndex: UInt64
        /// Puts whose index is assigned but whose write has not finished.
        var reserved = 0
        var items: [UInt64: QueueItem] = [:]
        /// Delivery order: indexes of priority items, then of normal items, each ascending.
        var priorityOrder: [UInt64] = []
        var normalOrder: [UInt64] = []

        var order: [UInt64] { priorityOrder + normalOrder }

        mutating func add(_ item: QueueItem) {
            items[item.index] = item
            if item.priority { insertSorted(&priorityOrder, item.index) } else { insertSorted(&normalOrder, item.index) }
        }

        mutating func remove(_ index: UInt64) -> QueueItem? {
            guard let item = items.removeValue(forKey: index) else { return nil }
            if item.priority { priorityOrder.removeAll { $0 == index } } else { normalOrder.removeAll { $0 == index } }
            return item
        }

        private func insertSorted(_ array: inout [UInt64], _ value: UInt64) {
            if let last = array.last, last > value {
                let position = array.firstIndex { $0 > value } ?? array.count
                array.insert(value, at: position)
            } else {
                array.append(value)
            }
        }
    }

    struct Watch {
        var queue: String
        var consumer: String
        var group: String
        var window: Int
        var autoCommit: Bool
        var indexOnly: Bool
        var filter: [String: String]
        var minIndex: UInt64
        var inFlight: Set<UInt64> = []
        var continuation: AsyncStream<QueueProto.Frame>.Continuation
    }

    private let store: any MessageStore
    private var queues: [String: Queue] = [:]
    /// queue → group → index → watch id
    private var pending: [String: [String: [UInt64: UUID]]] = [:]
    private var watches: [UUID: Watch] = [:]
    private var watchOrder: [UUID] = []
    private var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
    private var onUndeliverable: (@Sendable (String, QueueItem) async -> Void)?
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - store: where items persist.
    ///   - now: the clock (Unix milliseconds).
    public init(store: any MessageStore, now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.store = store
        self.now = now
    }

    /// Declares the queues (with their settings) and loads their stored items. Stored queues that are no longer
    /// declared stay in the store untouched.
    public func open(_ declared: [String: QueueSettings]) async throws {
        let stored = try await store.loadQueues()
        for (name, settings) in declared {
            var queue = Queue(settings: settings, nextIndex: stored[name]?.nextIndex ?? 1)
            for item in stored[name]?.items ?? [] { queue.add(item) }
            queues[name] = queue
        }
    }

    /// Called with each item dropped after reaching its queue's delivery limit.
    public func setUndeliverableHandler(_ handler: @escaping @Sendable (String, QueueItem) async -> Void) {
        onUndeliverable = handler
    }

    public func isDeclared(_ queue: String) -> Bool { queues[queue] != nil }

    public func settings(of queue: String) -> QueueSettings? { queues[queue]?.settings }

    // MARK: Put

    /// Appends an item, assigning the next index and a new request id (a client's `requestId` tag is replaced).
    ///
    /// - Throws: ``QueueError`` (unknown queue, full, payload too large, storage) with nothing stored.
    /// - Parameter requestID: keep this request id instead of making one (a sink item carries its input's).
    public func put(queue name: String, data: [UInt8], tags: [String: String], priority: Bool = false,
                    requestID: String? = nil) async throws(QueueError) -> QueueItem {
        guard let queue = queues[name] else { throw .unknownQueue(name) }
        guard data.count <= queue.settings.maxPayloadBytes else {
            throw .payloadTooLarge(size: data.count, limit: queue.settings.maxPayloadBytes)
        }
        var evicting: [UInt64] = []
        let excess = queue.items.count + queue.reserved - queue.settings.maxLength + 1
        if excess > 0 {
            guard queue.settings.evictOldest else { throw .full(queue: name, maxLength: queue.settings.maxLength) }
            // Oldest first, preferring items no watcher holds.
            let held = Set(pending[name]?.values.flatMap(\.keys) ?? [])
            let candidates = queue.items.keys.sorted()
            evicting = Array((candidates.filter { !held.contains($0) } + candidates.filter { held.contains($0) }).prefix(excess))
        }
        var itemTags = tags
        itemTags["requestId"] = requestID ?? UUID().uuidString.lowercased()
        // The index is taken before the write, so concurrent puts never share one (a failed write leaves a gap).
        let item = QueueItem(index: queue.nextIndex, data: data, tags: itemTags, priority: priority, createdAt: now())
        queues[name]?.nextIndex += 1
        queues[name]?.reserved += 1
        for index in evicting { _ = queues[name]?.remove(index); releasePending(queue: name, index: index) }
        do {
            try await store.insert(item, queue: name, evicting: evicting)
        } catch {
            queues[name]?.reserved -= 1
            throw .storage(String(describing: error))
        }
        queues[name]?.reserved -= 1
        queues[name]?.add(item)
        wakeWaiters(name)
        await deliver(name)
        return item
    }

    // MARK: Get

    /// Up to `length` items from `index` (0: the head; −1: the newest item or, if none, the next one put) that
    /// match `filter`, in index order, waiting until `deadline` for the first one when there are none;
    /// `autoDelete` removes what it returns.
    public func get(queue name: String, index: Int64, length: Int, filter: [String: String], autoDelete: Bool,
                    deadline: ContinuousClock.Instant) async throws(QueueError) -> [QueueItem] {
        guard let queue = queues[name] else { throw .unknownQueue(name) }
        let start: UInt64 = index < 0 ? (queue.items.keys.max() ?? queue.nextIndex) : UInt64(index)
        while true {
            guard let current = queues[name] else { throw .unknownQueue(name) }
            let found = current.items.keys.sorted().lazy.filter { $0 >= start }
                .compactMap { current.items[$0] }.filter { $0.matches(filter) }.prefix(max(length, 1))
            if !found.isEmpty {
                let result = Array(found)
                if autoDelete { try await remove(queue: name, indexes: result.map(\.index)) }
                return result
            }
            if ContinuousClock.now >= deadline { return [] }
            await waitForChange(name, until: deadline)
        }
    }

    private func waitForChange(_ queue: String, until deadline: ContinuousClock.Instant) async {
        let id = UUID()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiters[queue, default: [:]][id] = continuation
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.wake(queue, id)
            }
        }
    }

    private func wake(_ queue: String, _ id: UUID) {
        waiters[queue]?.removeValue(forKey: id)?.resume()
    }

    private func wakeWaiters(_ queue: String) {
        let all = waiters.removeValue(forKey: queue) ?? [:]
        for continuation in all.values { continuation.resume() }
    }

    // MARK: Commit, delete, truncate

    /// Acknowledges items: they are removed and never delivered again. Unknown indexes are ignored.
    public func commit(queue name: String, indexes: [UInt64]) async throws(QueueError) {
        try await remove(queue: name, indexes: indexes)
    }

    /// Removes items whatever their state. Unknown indexes are ignored.
    public func delete(queue name: String, indexes: [UInt64]) async throws(QueueError) {
        try await remove(queue: name, indexes: indexes)
    }

    /// Removes every item with an index below `index`.
    public func truncate(queue name: String, below index: UInt64) async throws(QueueError) {
        guard let queue = queues[name] else { throw .unknownQueue(name) }
        try await remove(queue: name, indexes: queue.items.keys.filter { $0 < index })
    }

    private func remove(queue name: String, indexes: [UInt64]) async throws(QueueError) {
        guard queues[name] != nil else { throw .unknownQueue(name) }
        // Out of memory first (so a concurrent get or watch cannot hand them out again), then from the store.
        let removed = indexes.compactMap { queues[name]?.remove($0) }
        if !removed.isEmpty {
            do {
                try await store.remove(queue: name, indexes: removed.map(\.index))
            } catch {
                for item in removed { queues[name]?.add(item) }
                throw .storage(String(describing: error))
            }
        }
        // Indexes a watcher held are released from its window even when the item was already gone.
        for index in indexes { releasePending(queue: name, index: index) }
        wakeWaiters(name)
        await deliver(name)
    }

    private func releasePending(queue: String, index: UInt64) {
        guard let groups = pending[queue] else { return }
        for (group, held) in groups {
            if let watchID = held[index] {
                pending[queue]?[group]?[index] = nil
                watches[watchID]?.inFlight.remove(index)
            }
        }
    }

    // MARK: Search and attributes

    /// `search`: whether the item is held by a consumer of `group`, by whom, and how many items wait before it.
    /// - Returns: nil when there is no such item.
    public func search(queue name: String, index: UInt64, group: String) throws(QueueError)
        -> (consumer: String, isPending: Bool, waitCount: Int)? {
        guard let queue = queues[name] else { throw .unknownQueue(name) }
        guard queue.items[index] != nil else { return nil }
        let held = pending[name]?[group] ?? [:]
        if let watchID = held[index] {
            return (watches[watchID]?.consumer ?? "", true, 0)
        }
        let ahead = queue.order.prefix { $0 != index }.filter { held[$0] == nil }.count
        return ("", false, ahead)
    }

    /// The queue's attributes as EAS reports them (every value a string; first/last entry only when not empty).
    public func attributes(queue name: String, backend: String) throws(QueueError) -> [(key: String, value: String)] {
        guard let queue = queues[name] else { throw .unknownQueue(name) }
        var attributes: [(key: String, value: String)] = [
            ("meta.name", name),
            ("meta.maxPayloadBytes", String(queue.settings.maxPayloadBytes)),
            ("meta.header.user", "X-EAS-QueueService-Redis-Uid"),
            ("meta.header.group", "X-EAS-QueueService-Redis-Gid"),
            ("meta.header.priority", "X-EAS-QueueService-Priority"),
            ("meta.backend", backend),
            ("meta.state", "Normal"),
            ("meta.maxDelivery", String(queue.settings.maxDelivery)),
            ("stream.length", String(queue.items.count)),
            ("stream.approxMaxLength", String(queue.settings.maxLength)),
        ]
        if let first = queue.items.keys.min(), let last = queue.items.keys.max() {
            attributes.append(("stream.firstEntry", String(first)))
            attributes.append(("stream.lastEntry", String(last)))
        }
        attributes.append(("consumers.status.total", String(watches.values.filter { $0.queue == name }.count)))
        return attributes
    }

    // MARK: Watch

    /// Opens a watch: frames of matching items with index ≥ `index` (0: from the head; −1: only items put from now
    /// on), at most `window` uncommitted at a time unless `autoCommit` (then each item is removed as it is sent).
    /// - Returns: the watch id (for ``closeWatch(_:)``) and its frames.
    public func openWatch(queue name: String, index: Int64, window: Int, autoCommit: Bool, indexOnly: Bool,
                          filter: [String: String], consumer: String, group: String) async throws(QueueError)
        -> (id: UUID, frames: AsyncStream<QueueProto.Frame>) {
        guard let queue = queues[name] else { throw .unknownQueue(name) }
        let minIndex: UInt64 = index < 0 ? queue.nextIndex : UInt64(index)
        let (stream, continuation) = AsyncStream<QueueProto.Frame>.makeStream(bufferingPolicy: .unbounded)
        let id = UUID()
        watches[id] = Watch(queue: name, consumer: consumer, group: group, window: max(window, 1), autoCommit: autoCommit,
                            indexOnly: indexOnly, filter: filter, minIndex: minIndex, continuation: continuation)
        watchOrder.append(id)
        await deliver(name)
        return (id, stream)
    }

    /// Ends a watch; its uncommitted items become deliverable again (or are dropped at the delivery limit).
    public func closeWatch(_ id: UUID) async {
        guard let watch = watches.removeValue(forKey: id) else { return }
        watchOrder.removeAll { $0 == id }
        watch.continuation.finish()
        for index in watch.inFlight { pending[watch.queue]?[watch.group]?[index] = nil }
        await deliver(watch.queue)
    }

    /// Sends what each watch of the queue may receive now. Runs without suspending (so no other call interleaves);
    /// the store writes it causes (delivery counts, auto-commit removals) are queued in order behind it — losing
    /// one in a crash only means an item is delivered once more.
    private func deliver(_ name: String) async {
        var dropped: [QueueItem] = []
        for id in watchOrder {
            guard var watch = watches[id], watch.queue == name else { continue }
            while watch.autoCommit || watch.inFlight.count < watch.window {
                guard let queue = queues[name] else { return }
                let held = pending[name]?[watch.group] ?? [:]
                guard let index = queue.order.first(where: { i in
                    i >= watch.minIndex && held[i] == nil && (queue.items[i]?.matches(watch.filter) ?? false)
                }), var item = queue.items[index] else { break }
                let limit = queue.settings.maxDelivery
                if limit > 0 && item.deliveries >= limit {
                    // Delivered as often as allowed: drop it instead of delivering again.
                    _ = queues[name]?.remove(index)
                    persistLater { [store] in try await store.remove(queue: name, indexes: [index]) }
                    dropped.append(item)
                    continue
                }
                if watch.autoCommit {
                    _ = queues[name]?.remove(index)
                    persistLater { [store] in try await store.remove(queue: name, indexes: [index]) }
                } else {
                    item.deliveries += 1
                    queues[name]?.items[index] = item
                    let count = item.deliveries
                    persistLater { [store] in try await store.setDeliveries(queue: name, index: index, deliveries: count) }
                    watch.inFlight.insert(index)
                    pending[name, default: [:]][watch.group, default: [:]][index] = id
                }
                watch.continuation.yield(item.frame(indexOnly: watch.indexOnly))
            }
            watches[id] = watch
        }
        if !dropped.isEmpty, let handler = onUndeliverable {
            for item in dropped { await handler(name, item) }
        }
    }

    private var persistTail: Task<Void, Never>?

    private func persistLater(_ operation: @escaping @Sendable () async throws -> Void) {
        let previous = persistTail
        persistTail = Task {
            await previous?.value
            try? await operation()
        }
    }

    /// Waits for the store writes queued so far (tests, shutdown).
    public func flush() async {
        await persistTail?.value
    }
}
