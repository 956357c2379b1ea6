import Workflow

/// Durable storage for the job queue and its history.
///
/// Every driver (in-memory for unit tests, SQLite for the standard edition, PostgreSQL later) passes
/// the same conformance suite. All methods are atomic: a crash between two calls loses nothing that
/// a completed call reported as stored.
public protocol QueueStore: Sendable {
    /// Stores a new pending job. Returns once it is durable (committed), so a crash afterwards
    /// cannot lose it. Throws ``QueueStoreError/duplicateID`` if the id is already known.
    func enqueue(_ job: NewJob) async throws -> JobRecord

    /// Atomically takes the next pending job — lowest `number`, then lowest `sequence` — and marks it
    /// running with `attempts + 1` and `startTime = now`. Returns `nil` when nothing is pending.
    func claimNext(now: Int64) async throws -> JobRecord?

    /// Moves a running job to a finished state with its result. Throws
    /// ``QueueStoreError/invalidTransition`` if the job is not running.
    func finish(id: String, state: JobState, result: JobResult, now: Int64) async throws

    /// Puts a running job back to pending without counting the stopped attempt (graceful shutdown).
    /// Throws ``QueueStoreError/invalidTransition`` if the job is not running.
    func release(id: String) async throws

    /// Called once at start-up, before any worker claims: every job left `running` by a crash goes
    /// back to `pending` (keeping its place) when `attempts < maxAttempts`, else it finishes as
    /// `failed` with `failureResult(record)` as its result. Returns the affected ids.
    func recoverInterrupted(maxAttempts: Int, now: Int64, failureResult: @Sendable (JobRecord) -> JobResult) async throws -> RecoveryReport

    /// One job by id, in any state.
    func job(id: String) async throws -> JobRecord?

    /// Pending jobs in run order, and running jobs.
    func pending() async throws -> [JobRecord]
    func running() async throws -> [JobRecord]

    /// Counts of pending + running jobs (ComfyUI's `queue_remaining`).
    func queueRemaining() async throws -> Int

    /// Finished jobs in completion order. `offset`/`limit` page through that order; a negative
    /// `offset` with a `limit` returns the last `limit` entries.
    func history(offset: Int, limit: Int?) async throws -> [JobRecord]

    /// A filtered, sorted page of jobs in any state (the `/api/jobs` endpoint).
    func jobs(_ query: JobQuery) async throws -> JobPage

    /// ComfyUI drops deleted pending jobs without a trace in history.
    /// Deletes these pending jobs; returns the ids actually deleted (running/finished ids are ignored).
    func deletePending(ids: [String]) async throws -> [String]
    /// Deletes every pending job; returns how many.
    func clearPending() async throws -> Int

    /// Deletes finished jobs by id / all finished jobs.
    func deleteHistory(ids: [String]) async throws
    func clearHistory() async throws

    /// Applies retention: keeps at most `maxCount` finished jobs (oldest completions dropped first)
    /// and drops those that finished before `olderThan` (ms since epoch) when given.
    func pruneHistory(maxCount: Int?, olderThan: Int64?) async throws

    /// Succeeds when the store is reachable (`/health`).
    func ping() async throws
}

/// What ``QueueStore/recoverInterrupted(maxAttempts:now:failureResult:)`` did.
public struct RecoveryReport: Sendable, Equatable {
    public var requeued: [String]
    public var failed: [String]

    public init(requeued: [String] = [], failed: [String] = []) {
        self.requeued = requeued
        self.failed = failed
    }
}

/// A query over all jobs, as `/api/jobs` asks it.
public struct JobQuery: Sendable, Equatable {
    public enum SortKey: String, Sendable { case createdAt = "created_at", executionDuration = "execution_duration" }

    public var states: Set<JobState>
    /// Matches `extra_data.extra_pnginfo.workflow.id`.
    public var workflowID: String?
    public var sortBy: SortKey
    public var descending: Bool
    public var offset: Int
    public var limit: Int?
    /// Only jobs of this owner (multi-user editions); `nil` for all.
    public var owner: String?

    public init(states: Set<JobState> = Set(JobState.allCases), workflowID: String? = nil, sortBy: SortKey = .createdAt,
                descending: Bool = true, offset: Int = 0, limit: Int? = nil, owner: String? = nil) {
        self.states = states
        self.workflowID = workflowID
        self.sortBy = sortBy
        self.descending = descending
        self.offset = offset
        self.limit = limit
        self.owner = owner
    }
}

public struct JobPage: Sendable, Equatable {
    public var jobs: [JobRecord]
    /// How many jobs match before paging.
    public var total: Int

    public init(jobs: [JobRecord], total: Int) {
        self.jobs = jobs
        self.total = total
    }
}

public enum QueueStoreError: Error, Sendable, Equatable {
    case duplicateID(String)
    case notFound(String)
    case invalidTransition(id: String, from: JobState, to: JobState)
    case storage(String)
}
