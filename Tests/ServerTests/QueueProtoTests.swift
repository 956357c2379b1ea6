import Foundation
import MessageQueue
import Synchronization
import Testing

/// The queue protobuf messages against the EAS SDK's own encodings, and the broker's delivery rules on an
/// in-memory store.
@Suite struct QueueProtoTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Substring(hex)
        while chars.count >= 2 {
            out.append(UInt8(chars.prefix(2), radix: 16) ?? 0)
            chars = chars.dropFirst(2)
        }
        return out
    }

    // MARK: Wire vectors (spec §2.4)

    @Test func frameVectorMatchesTheSDK() throws {
        let frame = QueueProto.Frame(index: 42, tags: [(key: "task_id", value: "txt2img_0")], data: Array("[]".utf8))
        let encoded = QueueProto.encode(frame)
        #expect(Self.hex(encoded) == "082a12140a077461736b5f6964120974787432696d675f301a025b5d")
        #expect(try QueueProto.decodeFrame(encoded) == frame)
    }

    @Test func listVectorWrapsTheFrame() throws {
        let frame = QueueProto.Frame(index: 42, tags: [(key: "task_id", value: "txt2img_0")], data: Array("[]".utf8))
        let encoded = QueueProto.encode(list: [frame])
        #expect(Self.hex(encoded) == "0a1c082a12140a077461736b5f6964120974787432696d675f301a025b5d")
        #expect(try QueueProto.decodeList(encoded) == [frame])
        #expect(try QueueProto.decodeList([]) == [])
    }

    @Test func frameWithMultiByteIndexAndMessage() throws {
        let frame = QueueProto.Frame(index: 1033, tags: [(key: "requestId", value: "r")], data: Array("abc".utf8), message: "m")
        let encoded = QueueProto.encode(frame)
        #expect(Self.hex(encoded) == "088908120e0a097265717565737449641201721a0361626322016d")
        let decoded = try QueueProto.decodeFrame(Self.bytes(hex: "088908120e0a097265717565737449641201721a0361626322016d"))
        #expect(decoded.index == 1033)
        #expect(decoded.tag("requestId") == "r")
        #expect(decoded.data == Array("abc".utf8))
        #expect(decoded.message == "m")
    }

    @Test func attributesVector() throws {
        let encoded = QueueProto.encode(attributes: [(key: "stream.length", value: "0")])
        #expect(Self.hex(encoded) == "0a120a0d73747265616d2e6c656e677468120130")
        let decoded = try QueueProto.decodeAttributes(encoded)
        #expect(decoded.map(\.key) == ["stream.length"])
        #expect(decoded.map(\.value) == ["0"])
    }

    @Test func decoderSkipsUnknownFieldsAndRejectsTruncation() throws {
        // Unknown varint field 9 (0x48 0x05) and unknown length-delimited field 10 before the known ones.
        let bytes = [0x48, 0x05, 0x52, 0x01, 0x00] + Self.bytes(hex: "082a1a025b5d")
        let frame = try QueueProto.decodeFrame(bytes)
        #expect(frame.index == 42)
        #expect(frame.data == Array("[]".utf8))
        #expect(throws: QueueProto.DecodeError.self) { try QueueProto.decodeFrame([0x1a, 0x05, 0x41]) }
        #expect(throws: QueueProto.DecodeError.self) { try QueueProto.decodeFrame([0x08, 0x80]) }
    }

    @Test func emptyFrameEncodesToNothingButRealItemsNeverDo() {
        #expect(QueueProto.encode(QueueProto.Frame(index: 0)).isEmpty)
        let item = QueueItem(index: 1, data: [], tags: ["requestId": "x"])
        #expect(!QueueProto.encode(item.frame(indexOnly: true)).isEmpty)
    }

    // MARK: Broker

    static let queue = "svc"

    static func broker(_ settings: QueueSettings = QueueSettings()) async throws -> MessageBroker {
        let broker = MessageBroker(store: MemoryMessageStore())
        try await broker.open([queue: settings, queue + "/sink": settings])
        return broker
    }

    static func put(_ broker: MessageBroker, _ text: String, tags: [String: String] = [:], priority: Bool = false) async throws -> UInt64 {
        try await broker.put(queue: queue, data: Array(text.utf8), tags: tags, priority: priority).index
    }

    static func length(_ broker: MessageBroker, _ name: String = queue) async throws -> String? {
        try await broker.attributes(queue: name, backend: "memory").first { $0.key == "stream.length" }?.value
    }

    @Test func indexesStartAtOneAndQueuesAreIndependent() async throws {
        let broker = try await Self.broker()
        #expect(try await Self.put(broker, "a") == 1)
        #expect(try await Self.put(broker, "b") == 2)
        let sink = try await broker.put(queue: Self.queue + "/sink", data: [1], tags: [:])
        #expect(sink.index == 1)
        try await broker.delete(queue: Self.queue, indexes: [2])
        #expect(try await Self.put(broker, "c") == 3)
    }

    @Test func putReplacesARequestIDAndKeepsTags() async throws {
        let broker = try await Self.broker()
        let item = try await broker.put(queue: Self.queue, data: [1], tags: ["requestId": "mine", "task_id": "t"])
        #expect(item.requestID != "mine")
        #expect(item.requestID.count == 36)
        #expect(item.tags["task_id"] == "t")
    }

    @Test func watchRespectsTheWindowUntilCommit() async throws {
        let broker = try await Self.broker()
        for i in 0..<7 { _ = try await Self.put(broker, "\(i)") }
        let (id, frames) = try await broker.openWatch(queue: Self.queue, index: 0, window: 5, autoCommit: false, indexOnly: false,
                                                       filter: [:], consumer: "c", group: "eas")
        let sink = FrameCollector(frames)
        try await sink.waitForCount(5)
        try await Task.sleep(for: .milliseconds(100))
        #expect(sink.frames.count == 5)
        #expect(sink.frames.map { String(decoding: $0.data, as: UTF8.self) } == ["0", "1", "2", "3", "4"])
        try await broker.commit(queue: Self.queue, indexes: [sink.frames[0].index])
        try await sink.waitForCount(6)
        try await broker.commit(queue: Self.queue, indexes: [sink.frames[1].index, sink.frames[2].index])
        try await sink.waitForCount(7)
        #expect(try await Self.length(broker) == "4")
        await broker.closeWatch(id)
    }

    @Test func closingAWatchRedeliversItsUncommittedItems() async throws {
        let broker = try await Self.broker()
        for i in 0..<3 { _ = try await Self.put(broker, "\(i)") }
        let (first, framesA) = try await broker.openWatch(queue: Self.queue, index: 0, window: 2, autoCommit: false, indexOnly: false,
                                                           filter: [:], consumer: "a", group: "eas")
        let a = FrameCollector(framesA)
        try await a.waitForCount(2)
        // A second consumer of the same group gets only what A does not hold.
        let (second, framesB) = try await broker.openWatch(queue: Self.queue, index: 0, window: 5, autoCommit: false,
                                                            indexOnly: false, filter: [:], consumer: "b", group: "eas")
        let b = FrameCollector(framesB)
        try await b.waitForCount(1)
        #expect(b.frames.map(\.index) == [3])
        await broker.closeWatch(first)
        try await b.waitForCount(3)
        #expect(Set(b.frames.map(\.index)) == [1, 2, 3])
        try await broker.commit(queue: Self.queue, indexes: [1, 2, 3])
        #expect(try await Self.length(broker) == "0")
        await broker.closeWatch(second)
    }

    @Test func priorityItemsComeFirst() async throws {
        let broker = try await Self.broker()
        _ = try await Self.put(broker, "n1")
        _ = try await Self.put(broker, "n2")
        _ = try await Self.put(broker, "p", priority: true)
        let (id, frames) = try await broker.openWatch(queue: Self.queue, index: 0, window: 5, autoCommit: true, indexOnly: false,
                                                       filter: [:], consumer: "c", group: "eas")
        let sink = FrameCollector(frames)
        try await sink.waitForCount(3)
        #expect(sink.frames.map { String(decoding: $0.data, as: UTF8.self) } == ["p", "n1", "n2"])
        await broker.closeWatch(id)
    }

    @Test func indexMinusOneSkipsTheBacklog() async throws {
        let broker = try await Self.broker()
        _ = try await Self.put(broker, "old")
        let (id, frames) = try await broker.openWatch(queue: Self.queue, index: -1, window: 5, autoCommit: false, indexOnly: false,
                                                       filter: [:], consumer: "c", group: "eas")
        let sink = FrameCollector(frames)
        try await Task.sleep(for: .milliseconds(100))
        #expect(sink.frames.isEmpty)
        _ = try await Self.put(broker, "new")
        try await sink.waitForCount(1)
        #expect(sink.frames.map { String(decoding: $0.data, as: UTF8.self) } == ["new"])
        await broker.closeWatch(id)
    }

    @Test func truncateRemovesEverythingBelow() async throws {
        let broker = try await Self.broker()
        for i in 0..<3 { _ = try await Self.put(broker, "\(i)") }
        try await broker.truncate(queue: Self.queue, below: 3)
        let attributes = try await broker.attributes(queue: Self.queue, backend: "memory")
        #expect(attributes.first { $0.key == "stream.length" }?.value == "1")
        #expect(attributes.first { $0.key == "stream.firstEntry" }?.value == "3")
        try await broker.truncate(queue: Self.queue, below: 4)
        let empty = try await broker.attributes(queue: Self.queue, backend: "memory")
        #expect(empty.first { $0.key == "stream.lastEntry" } == nil)
    }

    @Test func searchCountsWhatWaitsAhead() async throws {
        let broker = try await Self.broker()
        for i in 0..<3 { _ = try await Self.put(broker, "\(i)") }
        let found = try #require(try await broker.search(queue: Self.queue, index: 3, group: "eas"))
        #expect(found.isPending == false)
        #expect(found.waitCount == 2)
        #expect(try await broker.search(queue: Self.queue, index: 99, group: "eas") == nil)
        let (id, frames) = try await broker.openWatch(queue: Self.queue, index: 0, window: 1, autoCommit: false, indexOnly: false,
                                                       filter: [:], consumer: "me", group: "eas")
        let sink = FrameCollector(frames)
        try await sink.waitForCount(1)
        let pending = try #require(try await broker.search(queue: Self.queue, index: 1, group: "eas"))
        #expect(pending.isPending)
        #expect(pending.consumer == "me")
        #expect(try await broker.search(queue: Self.queue, index: 3, group: "eas")?.waitCount == 1)
        await broker.closeWatch(id)
    }

    @Test func longPollWakesOnPutAndTimesOutEmpty() async throws {
        let broker = try await Self.broker()
        let start = ContinuousClock.now
        let none = try await broker.get(queue: Self.queue, index: 0, length: 1, filter: [:], autoDelete: false,
                                        deadline: .now + .milliseconds(300))
        #expect(none.isEmpty)
        #expect(ContinuousClock.now - start >= .milliseconds(250))

        let putter = Task {
            try await Task.sleep(for: .milliseconds(200))
            _ = try await Self.put(broker, "late")
        }
        let woke = ContinuousClock.now
        let items = try await broker.get(queue: Self.queue, index: 0, length: 1, filter: [:], autoDelete: true,
                                         deadline: .now + .seconds(5))
        #expect(items.map { String(decoding: $0.data, as: UTF8.self) } == ["late"])
        #expect(ContinuousClock.now - woke < .seconds(2))
        try await putter.value
        #expect(try await Self.length(broker) == "0")
    }

    @Test func fullQueueRefusesWithoutStoring() async throws {
        let broker = try await Self.broker(QueueSettings(maxLength: 2))
        _ = try await Self.put(broker, "a")
        _ = try await Self.put(broker, "b")
        await #expect(throws: QueueError.full(queue: Self.queue, maxLength: 2)) { _ = try await Self.put(broker, "c") }
        #expect(try await Self.length(broker) == "2")
        // A refused put consumes no index.
        try await broker.delete(queue: Self.queue, indexes: [1])
        #expect(try await Self.put(broker, "d") == 3)
    }

    @Test func payloadLimitRefusesWithoutStoring() async throws {
        let broker = try await Self.broker(QueueSettings(maxPayloadBytes: 4))
        await #expect(throws: QueueError.payloadTooLarge(size: 5, limit: 4)) { _ = try await Self.put(broker, "12345") }
        #expect(try await Self.length(broker) == "0")
        #expect(try await Self.put(broker, "1234") == 1)
    }

    @Test func evictionDropsTheOldest() async throws {
        let broker = try await Self.broker(QueueSettings(maxLength: 2, evictOldest: true))
        for i in 0..<3 { _ = try await Self.put(broker, "\(i)") }
        let attributes = try await broker.attributes(queue: Self.queue, backend: "memory")
        #expect(attributes.first { $0.key == "stream.length" }?.value == "2")
        #expect(attributes.first { $0.key == "stream.firstEntry" }?.value == "2")
    }

    @Test func itemsOverTheDeliveryLimitAreDropped() async throws {
        let broker = try await Self.broker(QueueSettings(maxDelivery: 1))
        let dropped = Mutex<[UInt64]>([])
        await broker.setUndeliverableHandler { _, item in dropped.withLock { $0.append(item.index) } }
        _ = try await Self.put(broker, "x")
        let (first, framesA) = try await broker.openWatch(queue: Self.queue, index: 0, window: 1, autoCommit: false, indexOnly: false,
                                                           filter: [:], consumer: "a", group: "eas")
        let a = FrameCollector(framesA)
        try await a.waitForCount(1)
        await broker.closeWatch(first)
        let (second, framesB) = try await broker.openWatch(queue: Self.queue, index: 0, window: 1, autoCommit: false, indexOnly: false,
                                                            filter: [:], consumer: "b", group: "eas")
        let b = FrameCollector(framesB)
        try await Task.sleep(for: .milliseconds(100))
        #expect(b.frames.isEmpty)
        #expect(dropped.withLock { $0 } == [1])
        #expect(try await Self.length(broker) == "0")
        await broker.closeWatch(second)
    }

    @Test func watchFiltersByTagsAndIndexOnlyLeavesOutData() async throws {
        let broker = try await Self.broker()
        _ = try await Self.put(broker, "a", tags: ["k": "1"])
        _ = try await Self.put(broker, "b", tags: ["k": "2"])
        let (id, frames) = try await broker.openWatch(queue: Self.queue, index: 0, window: 5, autoCommit: false, indexOnly: true,
                                                       filter: ["k": "2"], consumer: "c", group: "eas")
        let sink = FrameCollector(frames)
        try await sink.waitForCount(1)
        try await Task.sleep(for: .milliseconds(50))
        #expect(sink.frames.map(\.index) == [2])
        #expect(sink.frames.first?.data == [])
        #expect(sink.frames.first?.tag("k") == "2")
        await broker.closeWatch(id)
    }
}

/// Collects a watch stream's frames in the background.
final class FrameCollector: Sendable {
    private let state = Mutex<[QueueProto.Frame]>([])

    /// Starts reading `stream` until it finishes (the watch is closed).
    init(_ stream: AsyncStream<QueueProto.Frame>) {
        Task { [weak self] in
            for await frame in stream { self?.append(frame) }
        }
    }

    private func append(_ frame: QueueProto.Frame) { state.withLock { $0.append(frame) } }

    var frames: [QueueProto.Frame] { state.withLock { $0 } }

    /// Waits until at least `count` frames arrived.
    func waitForCount(_ count: Int, timeout: Duration = .seconds(5), sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + timeout
        while frames.count < count {
            if ContinuousClock.now >= deadline {
                Issue.record("Expected \(count) frames, got \(frames.count)", sourceLocation: sourceLocation)
                throw TestTimeout(what: "\(count) frames")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
