import Executor
import HTTPTypes
import Hummingbird
import JobQueue
import Workflow

/// `/prompt`, `/queue`, `/interrupt`, `/free` and `/history`.
struct PromptController {
    let intake: PromptIntake
    let store: any QueueStore
    let worker: JobWorker
    let bodyLimit: Int

    func register(_ routes: AliasedRoutes) {
        routes.post("/prompt") { request, _ in try await submit(request) }
        routes.get("/prompt") { _, _ in
            let remaining = try await store.queueRemaining()
            return .json(["exec_info": ["queue_remaining": .int(Int64(remaining))]])
        }
        routes.get("/queue") { _, _ in
            async let running = store.running()
            async let pending = store.pending()
            return .json([
                "queue_running": .array(try await running.map(JobFormatting.queueItem)),
                "queue_pending": .array(try await pending.map(JobFormatting.queueItem)),
            ])
        }
        routes.post("/queue") { request, _ in
            let body = try await request.lenientJSONBody(limit: bodyLimit)
            if body?["clear"]?.isTruthy == true { _ = try await store.clearPending() }
            if let ids = body?["delete"]?.arrayValue {
                _ = try await store.deletePending(ids: ids.compactMap(\.stringValue))
            }
            await worker.broadcastStatus()
            return .empty
        }
        routes.post("/interrupt") { request, _ in
            // ComfyUI tolerates an empty or non-JSON body here.
            let body = try await request.lenientJSONBody(limit: bodyLimit)
            worker.interrupt(promptID: body?["prompt_id"]?.stringValue)
            return .empty
        }
        routes.post("/free") { request, _ in
            let body = try await request.lenientJSONBody(limit: bodyLimit)
            if body?["unload_models"]?.isTruthy == true || body?["free_memory"]?.isTruthy == true {
                worker.requestFree()
            }
            return .empty
        }
        routes.get("/history") { request, _ in
            let maxItems = request.query("max_items").flatMap { Int($0) }
            let offset = request.query("offset").flatMap { Int($0) } ?? -1
            let records: [JobRecord]
            if let maxItems {
                records = try await store.history(offset: offset, limit: maxItems)
            } else {
                records = try await store.history(offset: max(offset, 0), limit: nil)
            }
            var object = JSONObject()
            for record in records { object[record.id] = JobFormatting.historyEntry(record) }
            return .json(.object(object))
        }
        routes.get("/history/{prompt_id}") { _, context in
            let id = try context.parameters.require("prompt_id")
            guard let record = try await store.job(id: id), record.state.isFinished else { return .json([:]) }
            return .json([id: JobFormatting.historyEntry(record)])
        }
        routes.post("/history") { request, _ in
            let body = try await request.lenientJSONBody(limit: bodyLimit)
            if body?["clear"]?.isTruthy == true { try await store.clearHistory() }
            if let ids = body?["delete"]?.arrayValue { try await store.deleteHistory(ids: ids.compactMap(\.stringValue)) }
            return .empty
        }
    }

    private func submit(_ request: Request) async throws -> Response {
        let body: JSONValue?
        do {
            body = try await request.jsonBody(limit: bodyLimit)
        } catch let error as JSONParseError {
            let e = PromptError(type: "invalid_json", message: "Invalid JSON body", details: error.description)
            return .json(["error": e.json, "node_errors": [:]], status: .badRequest)
        }
        let usage = request.headers[HTTPField.Name("Comfy-Usage-Source")!]
        switch try await intake.submit(body, usageSource: usage) {
        case .accepted(let promptID, let number, let nodeErrors):
            worker.wake()
            await worker.broadcastStatus()
            return .json(["prompt_id": .string(promptID), "number": number, "node_errors": .object(nodeErrors)])
        case .rejected(let error, let nodeErrors):
            return .json(["error": error.json, "node_errors": .object(nodeErrors)], status: .badRequest)
        }
    }
}
