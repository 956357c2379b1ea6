/// The lifecycle of one job, as a value type whose events return the action a driver must perform.
///
/// Allowed transitions:
///
/// | from      | event                          | to                                   |
/// |-----------|--------------------------------|--------------------------------------|
/// | pending   | ``claim(now:)``                | running (`attempts + 1`)             |
/// | running   | ``finish(as:now:)``            | completed / failed / cancelled       |
/// | running   | ``recover(maxAttempts:now:)``  | pending if `attempts < maxAttempts`, else failed |
/// | running   | ``release()``                  | pending (`attempts − 1`: the run did not count) |
/// | pending   | ``removeFromQueue()``          | deleted                              |
/// | finished  | ``removeFromHistory()``        | deleted                              |
///
/// Every other event throws ``QueueStoreError/invalidTransition(id:from:to:)``, except the two removals,
/// which return ``Action/none`` for jobs they do not apply to (deleting a running job from the queue
/// is ignored, as ComfyUI does). The machine does no I/O: drivers load a job's state, feed the event
/// and persist the returned action inside the same transaction.
public struct JobStateMachine: Sendable, Equatable {
    /// What a driver must do to persist a transition.
    public enum Action: Sendable, Equatable {
        /// Mark the job running with this attempt count and start time; clear any end time.
        case start(attempts: Int, startTime: Int64)
        /// Mark the job finished in `state` at `endTime`, store its result and assign the next
        /// finish sequence.
        case finish(JobState, endTime: Int64)
        /// Put the job back to pending, keeping its `number` and `sequence`, and clear its start time.
        case requeue
        /// Put the job back to pending with this attempt count (the stopped run is not counted).
        case release(attempts: Int)
        /// Remove the job from the store.
        case delete
        /// Nothing to do.
        case none
    }

    /// The job's id, used in errors.
    public let id: String
    /// The current state.
    public private(set) var state: JobState
    /// How many times the job has been claimed.
    public private(set) var attempts: Int
    /// Whether a removal event deleted the job; a deleted job accepts no further events.
    public private(set) var isDeleted: Bool

    /// Creates a machine for a job in `state` that has been claimed `attempts` times.
    public init(id: String, state: JobState = .pending, attempts: Int = 0) {
        self.id = id
        self.state = state
        self.attempts = attempts
        self.isDeleted = false
    }

    /// Creates a machine reflecting a stored record.
    public init(record: JobRecord) {
        self.init(id: record.id, state: record.state, attempts: record.attempts)
    }

    /// A worker claims the job: pending → running, one more attempt.
    /// - Parameter now: Milliseconds since the Unix epoch; becomes the start time.
    /// - Returns: ``Action/start(attempts:startTime:)``.
    /// - Throws: ``QueueStoreError/invalidTransition(id:from:to:)`` unless the job is pending.
    public mutating func claim(now: Int64) throws(QueueStoreError) -> Action {
        try require(.pending, to: .running)
        state = .running
        attempts += 1
        return .start(attempts: attempts, startTime: now)
    }

    /// The running attempt ended: running → completed, failed or cancelled.
    /// - Parameters:
    ///   - target: The finished state; `pending` or `running` is an invalid transition.
    ///   - now: Milliseconds since the Unix epoch; becomes the end time.
    /// - Returns: ``Action/finish(_:endTime:)``.
    /// - Throws: ``QueueStoreError/invalidTransition(id:from:to:)`` unless the job is running and
    ///   `target` is a finished state.
    public mutating func finish(as target: JobState, now: Int64) throws(QueueStoreError) -> Action {
        try require(.running, to: target)
        guard target.isFinished else { throw QueueStoreError.invalidTransition(id: id, from: state, to: target) }
        state = target
        return .finish(target, endTime: now)
    }

    /// Start-up recovery of a job a crash left running: back to pending while attempts remain,
    /// otherwise failed.
    /// - Parameters:
    ///   - maxAttempts: How many claims a job gets in total.
    ///   - now: Milliseconds since the Unix epoch; the end time if the job fails.
    /// - Returns: ``Action/requeue`` when `attempts < maxAttempts`, else ``Action/finish(_:endTime:)`` with `failed`.
    /// - Throws: ``QueueStoreError/invalidTransition(id:from:to:)`` unless the job is running.
    public mutating func recover(maxAttempts: Int, now: Int64) throws(QueueStoreError) -> Action {
        let target: JobState = attempts < maxAttempts ? .pending : .failed
        try require(.running, to: target)
        state = target
        return target == .pending ? .requeue : .finish(.failed, endTime: now)
    }

    /// The server stopped the running attempt on purpose (graceful shutdown): running → pending,
    /// and the attempt does not count against the crash limit.
    /// - Returns: ``Action/release(attempts:)``.
    /// - Throws: ``QueueStoreError/invalidTransition(id:from:to:)`` unless the job is running.
    public mutating func release() throws(QueueStoreError) -> Action {
        try require(.running, to: .pending)
        state = .pending
        attempts = max(0, attempts - 1)
        return .release(attempts: attempts)
    }

    /// Deletion from the queue: pending → deleted. Returns ``Action/none`` for any other state.
    public mutating func removeFromQueue() -> Action {
        guard !isDeleted, state == .pending else { return .none }
        isDeleted = true
        return .delete
    }

    /// Deletion from history: finished → deleted. Returns ``Action/none`` for any other state.
    public mutating func removeFromHistory() -> Action {
        guard !isDeleted, state.isFinished else { return .none }
        isDeleted = true
        return .delete
    }

    private func require(_ expected: JobState, to target: JobState) throws(QueueStoreError) {
        guard !isDeleted, state == expected else {
            throw QueueStoreError.invalidTransition(id: id, from: state, to: target)
        }
    }
}
