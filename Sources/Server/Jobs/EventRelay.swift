import Executor
import Workflow

/// Turns executor events into ComfyUI's WebSocket messages, following its delivery rule, and
/// collects the `execution_*` messages that history records.
///
/// Delivery: messages go to the prompt's `client_id`. Without one, `execution_start`,
/// `execution_cached`, `executing`, `executed`, `execution_success` and `execution_error` are not sent
/// at all, while `progress` and `execution_interrupted` are broadcast.
final class EventRelay {
    let promptID: String
    let clientID: String?
    let hub: WebSocketHub
    private(set) var messages: [JSONValue] = []

    init(promptID: String, clientID: String?, hub: WebSocketHub) {
        self.promptID = promptID
        self.clientID = clientID
        self.hub = hub
    }

    func handle(_ event: ExecutionEvent) {
        let pid = JSONValue.string(promptID)
        switch event {
        case .started(let ts):
            record("execution_start", ["prompt_id": pid, "timestamp": .int(ts)], broadcastWithoutClient: false)
        case .cached(let nodes, let ts):
            record("execution_cached", ["nodes": JSONValue(nodes), "prompt_id": pid, "timestamp": .int(ts)], broadcastWithoutClient: false)
        case .executing(let node):
            send("executing", ["node": .string(node), "display_node": .string(node), "prompt_id": pid], broadcastWithoutClient: false)
        case .progress(let node, let value, let max):
            send("progress", ["value": .int(Int64(value)), "max": .int(Int64(max)), "prompt_id": pid, "node": .string(node)],
                 broadcastWithoutClient: true)
        case .executed(let node, let output):
            send("executed", ["node": .string(node), "display_node": .string(node), "output": output.map(JSONValue.object) ?? .null, "prompt_id": pid],
                 broadcastWithoutClient: false)
        case .succeeded(let ts):
            record("execution_success", ["prompt_id": pid, "timestamp": .int(ts)], broadcastWithoutClient: false)
        case .failed(let f):
            record("execution_error", [
                "prompt_id": pid, "node_id": .string(f.nodeID), "node_type": .string(f.nodeType), "executed": JSONValue(f.executed),
                "exception_message": .string(f.exceptionMessage), "exception_type": .string(f.exceptionType),
                "traceback": JSONValue(f.traceback), "current_inputs": .object(f.currentInputs),
                "current_outputs": JSONValue(f.currentOutputs), "timestamp": .int(f.timestamp),
            ], broadcastWithoutClient: false)
        case .interrupted(let node, let nodeType, let executed, let ts):
            record("execution_interrupted", [
                "prompt_id": pid, "node_id": .string(node), "node_type": .string(nodeType), "executed": JSONValue(executed),
                "timestamp": .int(ts),
            ], broadcastWithoutClient: true)
        }
    }

    private func record(_ type: String, _ data: JSONValue, broadcastWithoutClient: Bool) {
        messages.append([.string(type), data])
        send(type, data, broadcastWithoutClient: broadcastWithoutClient)
    }

    private func send(_ type: String, _ data: JSONValue, broadcastWithoutClient: Bool) {
        if let clientID {
            hub.send(type: type, data: data, to: clientID)
        } else if broadcastWithoutClient {
            hub.send(type: type, data: data, to: nil)
        }
    }
}
