extension JobRecord {
    /// Applies a ``JobStateMachine/Action`` to this record in memory.
    ///
    /// - Parameters:
    ///   - action: The action returned by the state machine.
    ///   - result: The result stored by a ``JobStateMachine/Action/finish(_:endTime:)`` action.
    ///   - finishSequence: The finish sequence assigned by a finish action.
    /// ``JobStateMachine/Action/delete`` and ``JobStateMachine/Action/none`` leave the record unchanged;
    /// deleting is the owner's job.
    public mutating func apply(_ action: JobStateMachine.Action, result: JobResult? = nil, finishSequence: Int64? = nil) {
        switch action {
        case .start(let attempts, let startTime):
            state = .running
            self.attempts = attempts
            self.startTime = startTime
            endTime = nil
        case .finish(let finished, let endTime):
            state = finished
            self.endTime = endTime
            self.result = result
            self.finishSequence = finishSequence
        case .requeue:
            state = .pending
            startTime = nil
        case .release(let attempts):
            state = .pending
            self.attempts = attempts
            startTime = nil
        case .delete, .none:
            break
        }
    }
}
