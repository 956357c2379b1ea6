extension JobQuery {
    /// Whether `record` passes this query's filters (states, workflow id, owner).
    public func matches(_ record: JobRecord) -> Bool {
        guard states.contains(record.state) else { return false }
        if let workflowID, record.job.workflowID != workflowID { return false }
        if let owner, record.job.owner != owner { return false }
        return true
    }

    /// Whether `lhs` comes before `rhs` in this query's order.
    ///
    /// - `createdAt`: by `job.createTime`, ties by `sequence`.
    /// - `executionDuration`: by ``JobRecord/executionDuration``, where a job without both a start and an
    ///   end time counts as 0 (as ComfyUI's `/api/jobs` does); ties by `createTime`, then `sequence`.
    ///
    /// `descending` reverses every key, tie-breakers included, so the order is total and drivers agree.
    public func areInIncreasingOrder(_ lhs: JobRecord, _ rhs: JobRecord) -> Bool {
        var l: [Int64] = [lhs.job.createTime, lhs.sequence]
        var r: [Int64] = [rhs.job.createTime, rhs.sequence]
        if sortBy == .executionDuration {
            l.insert(lhs.executionDuration ?? 0, at: 0)
            r.insert(rhs.executionDuration ?? 0, at: 0)
        }
        return descending ? r.lexicographicallyPrecedes(l) : l.lexicographicallyPrecedes(r)
    }
}
