import Hummingbird
import JobQueue
import Workflow

/// The jobs API (`/api/jobs…`, prefix-only), which the frontend's queue and history panes read.
struct JobsController {
    let store: any QueueStore
    let worker: JobWorker
    let bodyLimit: Int

    static let statusNames: [String: JobState] = [
        "pending": .pending, "in_progress": .running, "completed": .completed, "failed": .failed, "cancelled": .cancelled,
    ]

    func register(_ routes: AliasedRoutes) {
        routes.apiOnly(.get, "/jobs") { request, _ in try await list(request) }
        routes.apiOnly(.get, "/jobs/{job_id}") { _, context in
            let id = try context.parameters.require("job_id")
            guard let record = try await store.job(id: id) else { return .error("Job not found", status: .notFound) }
            return .json(JobFormatting.apiJob(record, detailed: true))
        }
        routes.apiOnly(.post, "/jobs/{job_id}/cancel") { _, context in
            let id = try context.parameters.require("job_id")
            return .json(["cancelled": .bool(try await cancel(id))])
        }
        routes.apiOnly(.post, "/jobs/cancel") { request, _ in
            let body: JSONValue?
            do { body = try await request.jsonBody(limit: bodyLimit) } catch is JSONParseError {
                return .error("Request body must be valid JSON", status: .badRequest)
            }
            guard let ids = body?["job_ids"]?.arrayValue else { return .error("job_ids must be a list", status: .badRequest) }
            let invalid = ids.filter { !($0.stringValue.map(PromptIntake.isCanonicalUUID) ?? false) }
            guard invalid.isEmpty else {
                return .json(["error": "job_ids contains invalid id(s)", "invalid_ids": .array(invalid)], status: .badRequest)
            }
            var any = false
            for id in ids.compactMap(\.stringValue) where try await cancel(id) { any = true }
            return .json(["cancelled": .bool(any)])
        }
    }

    /// Running → interrupt (only if still that job); pending → dequeue; otherwise nothing.
    private func cancel(_ id: String) async throws -> Bool {
        guard let record = try await store.job(id: id) else { return false }
        switch record.state {
        case .running:
            return worker.interrupt(promptID: id)
        case .pending:
            let deleted = try await store.deletePending(ids: [id])
            if !deleted.isEmpty { await worker.broadcastStatus() }
            return !deleted.isEmpty
        default:
            return false
        }
    }

    private func list(_ request: Request) async throws -> Response {
        var query = JobQuery()
        if let status = request.query("status"), !status.isEmpty {
            let names = status.split(separator: ",").map { String($0).trimmingSpaces() }
            let unknown = names.filter { Self.statusNames[$0] == nil }
            guard unknown.isEmpty else {
                return .error("Invalid status value(s): \(unknown.joined(separator: ", ")). Valid values: pending, in_progress, completed, failed, cancelled",
                              status: .badRequest)
            }
            query.states = Set(names.compactMap { Self.statusNames[$0] })
        }
        query.workflowID = request.query("workflow_id")
        if let sortBy = request.query("sort_by") {
            guard let key = JobQuery.SortKey(rawValue: sortBy) else {
                return .error("sort_by must be 'created_at' or 'execution_duration'", status: .badRequest)
            }
            query.sortBy = key
        }
        if let order = request.query("sort_order") {
            guard order == "asc" || order == "desc" else { return .error("sort_order must be 'asc' or 'desc'", status: .badRequest) }
            query.descending = order == "desc"
        }
        if let limitText = request.query("limit") {
            guard let limit = Int(limitText), limit > 0 else { return .error("limit must be a positive integer", status: .badRequest) }
            query.limit = limit
        }
        if let offsetText = request.query("offset") {
            guard let offset = Int(offsetText) else { return .error("offset must be an integer", status: .badRequest) }
            query.offset = max(offset, 0)
        }
        let page = try await store.jobs(query)
        let limit = query.limit ?? page.total
        return .json([
            "jobs": .array(page.jobs.map { JobFormatting.apiJob($0, detailed: false) }),
            "pagination": [
                "offset": .int(Int64(query.offset)), "limit": .int(Int64(limit)), "total": .int(Int64(page.total)),
                "has_more": .bool(query.offset + page.jobs.count < page.total),
            ],
        ])
    }
}
