import Workflow

extension NewJob {
    /// The workflow id the UI embeds in the prompt, `extra_data.extra_pnginfo.workflow.id`, when it is
    /// a string; `/api/jobs?workflow_id=` filters on it.
    public var workflowID: String? {
        extraData["extra_pnginfo"]?["workflow"]?["id"]?.stringValue
    }
}

extension JobRecord {
    /// `endTime - startTime` in milliseconds when both are known, else `nil`.
    public var executionDuration: Int64? {
        guard let startTime, let endTime else { return nil }
        return endTime - startTime
    }
}
