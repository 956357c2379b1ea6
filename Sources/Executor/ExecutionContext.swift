import Workflow

/// The context handed to a running node: progress goes out as events, and every report checks
/// the interrupt flag so long nodes stop promptly.
struct ExecutionContext: NodeExecutionContext {
    let promptID: String
    let nodeID: String
    let interrupt: InterruptFlag
    let emit: @Sendable (ExecutionEvent) -> Void

    func checkInterrupted() throws {
        if interrupt.isSet { throw InterruptedError() }
    }

    func progress(_ value: Int, of max: Int) throws {
        try checkInterrupted()
        emit(.progress(node: nodeID, value: value, max: max))
    }
}
