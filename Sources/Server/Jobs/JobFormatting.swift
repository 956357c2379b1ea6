import JobQueue
import Workflow

/// ComfyUI's JSON shapes for queue items, history entries and the jobs API, built in one place.
enum JobFormatting {
    static func number(_ job: NewJob) -> JSONValue {
        job.numberIsClientFloat ? .double(job.number) : .int(Int64(job.number))
    }

    /// `[number, prompt_id, prompt, extra_data, outputs_to_execute]`
    static func queueItem(_ record: JobRecord) -> JSONValue {
        [number(record.job), .string(record.id), record.job.prompt, record.job.extraData, JSONValue(record.job.outputsToExecute)]
    }

    /// `{"prompt": [...], "outputs": {...}, "status": {...}, "meta": {...}}`
    static func historyEntry(_ record: JobRecord) -> JSONValue {
        let result = record.result
        return [
            "prompt": queueItem(record),
            "outputs": result?.outputs ?? [:],
            "status": result?.status ?? .null,
            "meta": result?.meta ?? [:],
        ]
    }

    /// The jobs API status of a record.
    static func apiStatus(_ record: JobRecord) -> String {
        switch record.state {
        case .pending: return "pending"
        case .running: return "in_progress"
        case .completed: return "completed"
        case .failed: return "failed"
        case .cancelled: return "cancelled"
        }
    }

    static let previewableKeys: Set<String> = ["images", "video", "audio", "3d", "text"]
    static let previewableExtensions = [".obj", ".fbx", ".gltf", ".glb", ".usdz", ".txt", ".md", ".json"]

    /// A Job object of `GET /api/jobs` (keys with null values omitted).
    static func apiJob(_ record: JobRecord, detailed: Bool) -> JSONValue {
        var job: JSONObject = [
            "id": .string(record.id), "status": .string(apiStatus(record)), "priority": number(record.job),
            "create_time": .int(record.job.createTime),
        ]
        var outputsCount = 0
        var previewableCount = 0
        var preview: JSONValue?
        var fallbackPreview: JSONValue?
        if record.state.isFinished, let result = record.result {
            if let start = record.startTime { job["execution_start_time"] = .int(start) }
            if let end = record.endTime { job["execution_end_time"] = .int(end) }
            if record.state == .failed, let last = result.status["messages"]?.arrayValue?.last?.arrayValue,
               last.first?.stringValue == "execution_error", last.count > 1 {
                job["execution_error"] = last[1]
            }
            for (nodeID, ui) in result.outputs.objectValue ?? JSONObject() {
                for (key, items) in ui.objectValue ?? JSONObject() where key != "animated" {
                    for item in items.arrayValue ?? [] {
                        guard case .object(var entry) = item else { continue }
                        outputsCount += 1
                        let filename = entry["filename"]?.stringValue ?? ""
                        let format = entry["format"]?.stringValue ?? ""
                        let previewable = previewableKeys.contains(key) || format.hasPrefix("video/") || format.hasPrefix("audio/")
                            || previewableExtensions.contains { filename.lowercased().hasSuffix($0) }
                        guard previewable else { continue }
                        previewableCount += 1
                        entry["nodeId"] = .string(nodeID)
                        entry["mediaType"] = .string(key)
                        if preview == nil, entry["type"]?.stringValue == "output", key != "text" { preview = .object(entry) }
                        if fallbackPreview == nil { fallbackPreview = .object(entry) }
                    }
                }
            }
            if detailed {
                job["outputs"] = result.outputs
                job["execution_status"] = result.status
            }
        }
        job["outputs_count"] = .int(Int64(outputsCount))
        job["previewable_outputs_count"] = .int(Int64(previewableCount))
        if let p = preview ?? fallbackPreview { job["preview_output"] = p }
        if let workflowID = record.job.extraData["extra_pnginfo"]?["workflow"]?["id"]?.stringValue {
            job["workflow_id"] = .string(workflowID)
        }
        if detailed {
            job["workflow"] = ["prompt": record.job.prompt, "extra_data": record.job.extraData]
        }
        return .object(job)
    }
}
