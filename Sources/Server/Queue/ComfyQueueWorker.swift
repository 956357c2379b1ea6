import Foundation
import JobQueue
import Logging
import MessageQueue
import NodeLibrary
import ServiceLifecycle
import Synchronization
import Workflow

/// The worker behind a ComfyUI queue service: takes each input item (an API-format workflow, bare or wrapped
/// in `{"prompt": …}`), runs it as a job through the same intake, store and executor as `POST /prompt`, puts
/// the result into the sink — ComfyUI's `executed` events for the nodes that ran, then the node → output map,
/// as Python's `json.dumps` writes them — tagged with the input's tags and request id, and only then commits
/// the input item.
///
/// The job's prompt id is the input's request id, so an item delivered again after a crash finds its job
/// (pending, running or finished) instead of running the workflow twice. A workflow that fails validation or
/// execution still gets a sink item: the array ends with `{"error": …}` and the item's `message` says so.
final class ComfyQueueWorker: Service, Sendable {
    let service: QueueServiceDeclaration
    let broker: MessageBroker
    let intake: PromptIntake
    let store: any QueueStore
    let worker: JobWorker
    let hub: WebSocketHub
    let logger: Logger

    init(service: QueueServiceDeclaration, broker: MessageBroker, intake: PromptIntake, store: any QueueStore,
         worker: JobWorker, hub: WebSocketHub, logger: Logger) {
        self.service = service
        self.broker = broker
        self.intake = intake
        self.store = store
        self.worker = worker
        self.hub = hub
        self.logger = logger
    }

    func run() async throws {
        let (watchID, frames) = try await broker.openWatch(queue: service.inputQueue, index: 0, window: 1, autoCommit: false,
                                                           indexOnly: false, filter: [:], consumer: "loom-comfyui-worker",
                                                           group: "loom-comfyui-worker")
        await withGracefulShutdownHandler {
            for await frame in frames {
                if Task.isCancelled { break }
                await process(frame)
            }
        } onGracefulShutdown: {
            Task { await self.broker.closeWatch(watchID) }
        }
        await broker.closeWatch(watchID)
    }

    /// Runs one input item to a sink item, then commits it.
    func process(_ frame: QueueProto.Frame) async {
        let requestID = frame.tag("requestId") ?? UUID().uuidString.lowercased()
        let tags = Self.resultTags(frame.tags)
        let result = await run(workflow: frame.data, promptID: requestID)
        let body = Array(PythonJSON.dumps(result).utf8)
        // The sink may be full: wait for room (backpressure) rather than lose the result.
        while true {
            do {
                _ = try await broker.put(queue: service.sinkQueue, data: body, tags: tags, requestID: requestID)
                break
            } catch QueueError.full {
                try? await Task.sleep(for: .seconds(1))
            } catch {
                logger.error("Queue service \(service.name): cannot write the result of \(requestID) to the sink: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
            if Task.isCancelled { return }
        }
        do {
            try await broker.commit(queue: service.inputQueue, indexes: [frame.index])
        } catch {
            logger.error("Queue service \(service.name): cannot commit input \(frame.index): \(error)")
        }
    }

    /// Writes the sink item for an input item that was dropped after reaching the delivery limit.
    func reportUndeliverable(_ item: QueueItem) async {
        let tags = Self.resultTags(item.tags.map { (key: $0.key, value: $0.value) })
        let result = Self.failure("max_delivery_exceeded",
                                  "The workflow was delivered \(item.deliveries) times without finishing (the server stopped while running it)")
        logger.error("Queue service \(service.name): dropped input \(item.index) after \(item.deliveries) deliveries")
        _ = try? await broker.put(queue: service.sinkQueue, data: Array(PythonJSON.dumps(result).utf8), tags: tags,
                                  requestID: item.requestID.isEmpty ? nil : item.requestID)
    }

    /// The sink JSON for one workflow: `[executed events…, outputs]`, or `[…, {"error": …}]` on failure.
    func run(workflow data: [UInt8], promptID: String) async -> JSONValue {
        let sid = "queue-" + promptID
        let (connection, frames) = hub.register(sid: sid)
        defer { hub.unregister(sid: sid, connection: connection) }
        let executed = Mutex<[JSONValue]>([])
        let finished = Mutex(false)
        let reader = Task {
            for await frame in frames {
                guard case .text(let text) = frame, let message = try? JSONValue.parse(text),
                      message["data"]?["prompt_id"]?.stringValue == promptID else { continue }
                if message["type"]?.stringValue == "executed" { executed.withLock { $0.append(message) } }
                if message["type"]?.stringValue == "executing", message["data"]?["node"]?.isNull == true {
                    finished.withLock { $0 = true }
                    break
                }
            }
        }
        defer { reader.cancel() }

        if (try? await store.job(id: promptID)) == nil {
            guard let workflow = Self.workflow(from: data) else {
                return Self.failure("invalid_prompt", "The item is not an API-format workflow (a JSON object of nodes)")
            }
            let request: JSONValue = ["prompt": workflow, "prompt_id": .string(promptID), "client_id": .string(sid)]
            do {
                switch try await intake.submit(request, usageSource: nil) {
                case .accepted:
                    worker.wake()
                case .rejected(let error, let nodeErrors):
                    return .array([["error": ["type": .string(error.type), "message": .string(error.message),
                                              "details": .string(error.details)],
                                    "node_errors": .object(nodeErrors)]])
                }
            } catch {
                return Self.failure("store_error", "The workflow could not be queued: \(error)")
            }
        }
        // Wait for the job to finish (the store is the truth; the events are only for the executed list).
        var record: JobRecord?
        while !Task.isCancelled {
            if let current = try? await store.job(id: promptID), current.state.isFinished {
                record = current
                break
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        // The worker sends `executing: null` right after recording the result; give the reader a moment to see it.
        for _ in 0..<20 where !finished.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(50)) }
        guard let record, let result = record.result else {
            return Self.failure("interrupted", "The worker stopped before the workflow finished")
        }
        var items: [JSONValue] = executed.withLock { $0 }
        items.append(result.outputs)
        if record.state != .completed {
            let messages = result.status["messages"]?.arrayValue ?? []
            let errorEvent = messages.last { ["execution_error", "execution_interrupted"].contains($0.arrayValue?.first?.stringValue ?? "") }
            let detail = errorEvent?.arrayValue?.dropFirst().first ?? .null
            let text = detail["exception_message"]?.stringValue ?? (record.state == .cancelled ? "The job was cancelled" : "The job failed")
            items.append(["error": ["type": .string(record.state == .cancelled ? "execution_interrupted" : "execution_error"),
                                    "message": .string(text), "details": detail]])
        }
        return .array(items)
    }

    /// The workflow in an item: the JSON object itself, or its `prompt` member when the item is a `/prompt` body.
    static func workflow(from data: [UInt8]) -> JSONValue? {
        guard let json = try? JSONValue.parse(data), case .object(let object) = json else { return nil }
        if case .object(let inner)? = object["prompt"], inner.contains(where: { $0.value["class_type"] != nil }),
           !object.contains(where: { $0.value["class_type"] != nil }) {
            return .object(inner)
        }
        return json
    }

    /// An input's tags for its sink item (the request id is passed separately, so `put` keeps it).
    static func resultTags(_ tags: [(key: String, value: String)]) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in tags where key != "requestId" { result[key] = value }
        return result
    }

    static func failure(_ type: String, _ message: String) -> JSONValue {
        .array([["error": ["type": .string(type), "message": .string(message)]]])
    }
}
