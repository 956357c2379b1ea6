/// Offset/limit arithmetic shared by every ``QueueStore`` driver.
public enum QueuePaging {
    /// The index range of the entries to return from `total` entries.
    ///
    /// A negative `offset` with a `limit` selects the last `limit` entries; a negative `offset` without
    /// one selects everything (ComfyUI's `get_history`). Otherwise `offset` entries are skipped and at
    /// most `limit` (all when `nil`) are taken. A negative `limit` counts as 0.
    /// - Returns: A range within `0..<total`.
    public static func window(total: Int, offset: Int, limit: Int?) -> Range<Int> {
        let limit = limit.map { max(0, $0) }
        let start: Int
        if offset < 0 {
            start = limit.map { max(0, total - $0) } ?? 0
        } else {
            start = min(offset, total)
        }
        let end = limit.map { $0 >= total - start ? total : start + $0 } ?? total
        return start..<end
    }
}
