import Executor
import Foundation
import JobQueue
import Synchronization
import Workflow

/// Accepts prompts: validates them, assigns priority numbers and commits them to the store before
/// answering, so an accepted prompt survives any crash.
final class PromptIntake: Sendable {
    /// The outcome of one `POST /prompt`, in ComfyUI's shapes.
    enum Outcome {
        case accepted(promptID: String, number: JSONValue, nodeErrors: JSONObject)
        case rejected(error: PromptError, nodeErrors: JSONObject)
    }

    /// Keys of `extra_data` that must never be stored.
    static let sensitiveKeys = ["auth_token_comfy_org", "api_key_comfy_org"]

    let store: any QueueStore
    let registry: NodeRegistry
    private let counter: Mutex<Int64>

    init(store: any QueueStore, registry: NodeRegistry, firstNumber: Int64) {
        self.store = store
        self.registry = registry
        self.counter = Mutex(firstNumber)
    }

    /// Handles a `POST /prompt` body (already parsed). `usageSource` is the `Comfy-Usage-Source` header.
    func submit(_ body: JSONValue?, usageSource: String?, owner: String? = nil) async throws -> Outcome {
        guard let body, case .object(let request) = body, let promptJSON = request["prompt"], !promptJSON.isNull else {
            return .rejected(error: PromptError(type: "no_prompt", message: "No prompt provided", details: "No prompt provided"),
                             nodeErrors: [:])
        }
        var promptID = UUID().uuidString.lowercased()
        if let given = request["prompt_id"], !given.isNull {
            guard let text = given.stringValue, Self.isCanonicalUUID(text) else {
                return .rejected(error: PromptError(type: "invalid_prompt_id", message: "prompt_id must be a valid UUID",
                                                    details: "prompt_id must be a valid UUID"), nodeErrors: [:])
            }
            promptID = text
        }
        let prompt: APIPrompt
        do {
            prompt = try APIPrompt(json: promptJSON)
        } catch let error as PromptError {
            return .rejected(error: error, nodeErrors: [:])
        }
        var partialTargets: [String]?
        if let targets = request["partial_execution_targets"]?.arrayValue {
            partialTargets = targets.compactMap { $0.stringValue }
        }
        let outcome = PromptValidator(registry: registry).validate(prompt, partialTargets: partialTargets)
        if let error = outcome.error {
            return .rejected(error: error, nodeErrors: outcome.nodeErrors)
        }

        // Priority: an explicit number, else the counter (negated for "front").
        let number: Double
        let clientFloat: Bool
        if let explicit = request["number"]?.doubleValue, explicit.isFinite {
            number = explicit
            clientFloat = true
        } else {
            let next = counter.withLock { c -> Int64 in defer { c += 1 }; return c }
            let front = request["front"]?.isTruthy ?? false
            number = Double(front ? -next : next)
            clientFloat = false
        }

        var extraData = request["extra_data"]?.objectValue ?? JSONObject()
        for key in Self.sensitiveKeys { extraData[key] = nil }
        extraData["client_id"] = request["client_id"] ?? .null
        if extraData["comfy_usage_source"] == nil, let usageSource { extraData["comfy_usage_source"] = .string(usageSource) }
        let now = currentTimeMillis()
        extraData["create_time"] = .int(now)

        let job = NewJob(id: promptID, number: number, numberIsClientFloat: clientFloat, prompt: outcome.prompt.json,
                         extraData: .object(extraData), outputsToExecute: outcome.goodOutputs, createTime: now, owner: owner)
        do {
            _ = try await store.enqueue(job)
        } catch QueueStoreError.duplicateID {
            return .rejected(error: PromptError(type: "invalid_prompt_id", message: "prompt_id must be a valid UUID",
                                                details: "A prompt with id \(promptID) already exists"), nodeErrors: [:])
        }
        return .accepted(promptID: promptID, number: JobFormatting.number(job), nodeErrors: outcome.nodeErrors)
    }

    /// `8-4-4-4-12` lowercase hexadecimal, as Python's `str(uuid.UUID(x)) == x` demands.
    static func isCanonicalUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                if b != UInt8(ascii: "-") { return false }
            } else if !((0x30...0x39).contains(b) || (0x61...0x66).contains(b)) {
                return false
            }
        }
        return true
    }
}
