#if canImport(Glibc)
import Glibc
#endif
import Workflow

/// What the executor reports while running a prompt, in order. The server turns these into
/// ComfyUI's WebSocket messages and history `messages`.
public enum ExecutionEvent: Sendable {
    case started(timestamp: Int64)
    /// Prompt nodes whose outputs come from the cache.
    case cached(nodes: [String], timestamp: Int64)
    /// A node is about to run.
    case executing(node: String)
    case progress(node: String, value: Int, max: Int)
    /// A node produced UI output (also re-sent for cached output nodes, whose output may be `nil`).
    case executed(node: String, output: JSONObject?)
    case succeeded(timestamp: Int64)
    case failed(ExecutionFailure)
    case interrupted(node: String, nodeType: String, executed: [String], timestamp: Int64)
}

/// ComfyUI's `execution_error` payload, less `prompt_id`.
public struct ExecutionFailure: Sendable, Equatable {
    public var nodeID: String
    public var nodeType: String
    public var executed: [String]
    public var exceptionMessage: String
    public var exceptionType: String
    public var traceback: [String]
    public var currentInputs: JSONObject
    public var currentOutputs: [String]
    public var timestamp: Int64

    public init(nodeID: String, nodeType: String, executed: [String], exceptionMessage: String, exceptionType: String,
                traceback: [String], currentInputs: JSONObject, currentOutputs: [String], timestamp: Int64) {
        self.nodeID = nodeID
        self.nodeType = nodeType
        self.executed = executed
        self.exceptionMessage = exceptionMessage
        self.exceptionType = exceptionType
        self.traceback = traceback
        self.currentInputs = currentInputs
        self.currentOutputs = currentOutputs
        self.timestamp = timestamp
    }
}

/// How a prompt ended, with the UI outputs and node meta that history records.
public struct ExecutionOutcome: Sendable {
    public enum Status: Sendable, Equatable { case success, failed, interrupted }

    public var status: Status
    /// node id → concatenated UI dict, for every node (cached or run) that produced UI output.
    public var outputs: JSONObject
    /// node id → `{"node_id", "display_node", "parent_node", "real_node_id"}`.
    public var meta: JSONObject
}

/// One prompt as the executor takes it.
public struct ExecutionRequest: Sendable {
    public var promptID: String
    /// The validated (coerced) prompt.
    public var prompt: APIPrompt
    /// The prompt's JSON, handed to nodes as hidden `PROMPT`.
    public var promptJSON: JSONValue
    public var outputsToExecute: [String]
    /// `extra_data.extra_pnginfo`, handed to nodes as hidden `EXTRA_PNGINFO`.
    public var extraPNGInfo: JSONValue?

    public init(promptID: String, prompt: APIPrompt, outputsToExecute: [String], extraPNGInfo: JSONValue?) {
        self.promptID = promptID
        self.prompt = prompt
        self.promptJSON = prompt.json
        self.outputsToExecute = outputsToExecute
        self.extraPNGInfo = extraPNGInfo
    }
}

/// Milliseconds since the Unix epoch.
public func currentTimeMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
