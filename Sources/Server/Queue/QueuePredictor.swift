import Foundation
import NodeLibrary
import Workflow

/// The synchronous endpoint of queue services (`PredictClient.predict`): a ComfyUI service runs the workflow in
/// the body and answers with the JSON its sink would carry; an echo service answers with the body. Failures
/// that would only repeat are 400 (the SDK retries exactly 500).
enum QueuePredictor {
    static func make(workers: [String: ComfyQueueWorker]) -> QueueServiceController.Predict {
        { service, body in
            switch service.kind {
            case .echo:
                return (200, body)
            case .plain:
                return (404, Array("Queue service \(service.name) has no synchronous endpoint".utf8))
            case .comfyui:
                guard let worker = workers[service.name] else {
                    return (503, Array("Queue service \(service.name) has no worker".utf8))
                }
                let result = await worker.run(workflow: body, promptID: UUID().uuidString.lowercased())
                let failed: Bool
                if case .object(let last)? = result.arrayValue?.last, last["error"] != nil { failed = true } else { failed = false }
                return (failed ? 400 : 200, Array(PythonJSON.dumps(result).utf8))
            }
        }
    }
}
