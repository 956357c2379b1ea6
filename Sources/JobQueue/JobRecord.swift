import Workflow

/// Where a job is in its life. See ``JobStateMachine`` for the allowed transitions.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case pending
    case running
    case completed
    case failed
    case cancelled

    /// Finished jobs are history.
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// What the server hands the store when it accepts a prompt.
public struct NewJob: Sendable, Equatable {
    /// ComfyUI's `prompt_id` (a canonical lowercase UUID).
    public var id: String
    /// ComfyUI's `number`: the priority; lower runs first. Ties run in submission order.
    public var number: Double
    /// Whether the client sent `number` itself (then it is echoed as a JSON float).
    public var numberIsClientFloat: Bool
    /// The API-format prompt.
    public var prompt: JSONValue
    /// `extra_data` with sensitive keys already removed.
    public var extraData: JSONValue
    /// The output node ids that validated (`outputs_to_execute`).
    public var outputsToExecute: [String]
    /// Milliseconds since the Unix epoch.
    public var createTime: Int64
    /// The submitting user, when users exist (multi-user and cluster editions); `nil` otherwise.
    public var owner: String?

    public init(id: String, number: Double, numberIsClientFloat: Bool = false, prompt: JSONValue,
                extraData: JSONValue, outputsToExecute: [String], createTime: Int64, owner: String? = nil) {
        self.id = id
        self.number = number
        self.numberIsClientFloat = numberIsClientFloat
        self.prompt = prompt
        self.extraData = extraData
        self.outputsToExecute = outputsToExecute
        self.createTime = createTime
        self.owner = owner
    }
}

/// A job as the store keeps it.
public struct JobRecord: Sendable, Equatable {
    public var job: NewJob
    public var state: JobState
    /// How many times a worker has claimed this job (a crash mid-run leaves it at 1 and re-queues it).
    public var attempts: Int
    /// Submission order, assigned by the store; breaks ties between equal `number`s.
    public var sequence: Int64
    /// Milliseconds since the Unix epoch when the last attempt started / the job finished.
    public var startTime: Int64?
    public var endTime: Int64?
    /// Set when the job finished: ComfyUI's history entry minus `prompt` (`outputs`, `status`, `meta`).
    public var result: JobResult?
    /// Completion order among finished jobs, assigned by the store when the job finishes.
    public var finishSequence: Int64?

    public init(job: NewJob, state: JobState, attempts: Int, sequence: Int64, startTime: Int64? = nil,
                endTime: Int64? = nil, result: JobResult? = nil, finishSequence: Int64? = nil) {
        self.job = job
        self.state = state
        self.attempts = attempts
        self.sequence = sequence
        self.startTime = startTime
        self.endTime = endTime
        self.result = result
        self.finishSequence = finishSequence
    }

    public var id: String { job.id }
}

/// The outcome of a finished job, stored as JSON values in ComfyUI's history shape.
public struct JobResult: Sendable, Equatable {
    /// `{"<node id>": {ui dict}}`
    public var outputs: JSONValue
    /// `{"status_str": "success"|"error", "completed": Bool, "messages": [[type, payload], ...]}`
    public var status: JSONValue
    /// `{"<node id>": {"node_id", "display_node", "parent_node", "real_node_id"}}`
    public var meta: JSONValue

    public init(outputs: JSONValue, status: JSONValue, meta: JSONValue) {
        self.outputs = outputs
        self.status = status
        self.meta = meta
    }
}
