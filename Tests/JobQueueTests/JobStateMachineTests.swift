import JobQueue
import Testing
import Workflow

@Suite("JobStateMachine")
struct JobStateMachineTests {
    @Test func claimStartsPendingJob() throws {
        var machine = JobStateMachine(id: "a")
        #expect(try machine.claim(now: 5) == .start(attempts: 1, startTime: 5))
        #expect(machine.state == .running && machine.attempts == 1)
        #expect(throws: QueueStoreError.invalidTransition(id: "a", from: .running, to: .running)) {
            try machine.claim(now: 6)
        }
    }

    @Test(arguments: [JobState.completed, .failed, .cancelled])
    func finishFromRunning(target: JobState) throws {
        var machine = JobStateMachine(id: "a", state: .running, attempts: 1)
        #expect(try machine.finish(as: target, now: 9) == .finish(target, endTime: 9))
        #expect(machine.state == target)
        #expect(throws: QueueStoreError.invalidTransition(id: "a", from: target, to: .completed)) {
            try machine.finish(as: .completed, now: 10)
        }
        #expect(throws: QueueStoreError.invalidTransition(id: "a", from: target, to: .running)) {
            try machine.claim(now: 10)
        }
    }

    @Test func finishRejectsUnfinishedTargetsAndPendingJobs() {
        var running = JobStateMachine(id: "a", state: .running, attempts: 1)
        for target in [JobState.pending, .running] {
            #expect(throws: QueueStoreError.invalidTransition(id: "a", from: .running, to: target)) {
                try running.finish(as: target, now: 1)
            }
        }
        #expect(running.state == .running)
        var pending = JobStateMachine(id: "b")
        #expect(throws: QueueStoreError.invalidTransition(id: "b", from: .pending, to: .completed)) {
            try pending.finish(as: .completed, now: 1)
        }
    }

    @Test func recoveryRequeuesWhileAttemptsRemain() throws {
        var machine = JobStateMachine(id: "a")
        _ = try machine.claim(now: 1)
        #expect(try machine.recover(maxAttempts: 2, now: 2) == .requeue)
        #expect(machine.state == .pending && machine.attempts == 1)
        _ = try machine.claim(now: 3)
        #expect(machine.attempts == 2)
        #expect(try machine.recover(maxAttempts: 2, now: 4) == .finish(.failed, endTime: 4))
        #expect(machine.state == .failed)
    }

    @Test func recoveryOnlyAppliesToRunningJobs() {
        for state in [JobState.pending, .completed, .failed, .cancelled] {
            var machine = JobStateMachine(id: "a", state: state, attempts: 0)
            #expect(throws: QueueStoreError.self) { try machine.recover(maxAttempts: 3, now: 1) }
            #expect(machine.state == state)
        }
    }

    @Test func removalsApplyToTheirStatesOnly() {
        for state in JobState.allCases {
            var queue = JobStateMachine(id: "a", state: state)
            #expect(queue.removeFromQueue() == (state == .pending ? .delete : JobStateMachine.Action.none))
            var history = JobStateMachine(id: "a", state: state)
            #expect(history.removeFromHistory() == (state.isFinished ? .delete : JobStateMachine.Action.none))
        }
    }

    @Test func deletedJobAcceptsNoEvents() {
        var machine = JobStateMachine(id: "a")
        #expect(machine.removeFromQueue() == .delete)
        #expect(machine.isDeleted)
        #expect(machine.removeFromQueue() == .none)
        #expect(throws: QueueStoreError.invalidTransition(id: "a", from: .pending, to: .running)) {
            try machine.claim(now: 1)
        }
    }

    @Test func actionsApplyToRecords() throws {
        let job = NewJob(id: "a", number: 0, prompt: [:], extraData: [:], outputsToExecute: [], createTime: 0)
        var record = JobRecord(job: job, state: .pending, attempts: 0, sequence: 1)
        var machine = JobStateMachine(record: record)
        record.apply(try machine.claim(now: 10))
        #expect(record.state == .running && record.attempts == 1 && record.startTime == 10)
        record.apply(try machine.recover(maxAttempts: 3, now: 11))
        #expect(record.state == .pending && record.startTime == nil && record.attempts == 1)
        record.apply(try machine.claim(now: 12))
        let result = JobResult(outputs: [:], status: ["status_str": "success"], meta: [:])
        record.apply(try machine.finish(as: .completed, now: 20), result: result, finishSequence: 7)
        #expect(record.state == .completed && record.endTime == 20 && record.result == result)
        #expect(record.finishSequence == 7 && record.executionDuration == 8 && record.attempts == 2)
    }
}

@Suite("QueuePaging")
struct QueuePagingTests {
    @Test(arguments: [
        (10, 0, nil, 0..<10), (10, 3, 4, 3..<7), (10, 8, 4, 8..<10), (10, 12, nil, 10..<10), (10, 0, 0, 0..<0),
        (10, -1, 3, 7..<10), (10, -5, 20, 0..<10), (10, -1, nil, 0..<10), (0, -1, 3, 0..<0), (10, 2, Int.max, 2..<10),
    ] as [(Int, Int, Int?, Range<Int>)])
    func window(total: Int, offset: Int, limit: Int?, expected: Range<Int>) {
        #expect(QueuePaging.window(total: total, offset: offset, limit: limit) == expected)
    }
}
