/// Validates an API prompt against a node registry exactly as ComfyUI's `validate_prompt` does,
/// producing its `error` + `node_errors` shapes and the coerced prompt that execution sees.
public struct PromptValidator: Sendable {
    public let registry: NodeRegistry

    public init(registry: NodeRegistry) {
        self.registry = registry
    }

    /// The result of validating one prompt.
    public struct Outcome: Sendable {
        /// The prompt with constants coerced to their declared types.
        public var prompt: APIPrompt
        /// Output node ids that validated with all their ancestors, in prompt order.
        public var goodOutputs: [String]
        /// `node_errors`: node id → `{"errors", "dependent_outputs", "class_type"}`.
        public var nodeErrors: JSONObject
        /// Set when the prompt is refused as a whole.
        public var error: PromptError?

        public var isValid: Bool { error == nil }
    }

    /// Validates `prompt`, restricted to `partialTargets` output nodes when given.
    public func validate(_ prompt: APIPrompt, partialTargets: [String]? = nil) -> Outcome {
        var outputs: [String] = []
        for id in prompt.order {
            let node = prompt[id]!
            guard let classType = node.classType else {
                let error = PromptError(
                    type: "missing_node_type",
                    message: "Node '\(node.displayTitle)' has no class_type. The workflow may be corrupted or a custom node may be missing.",
                    details: "Node ID '#\(id)'",
                    extraInfo: ["node_id": .string(id), "class_type": .null, "node_title": node.title.map { .string($0) } ?? .null])
                return Outcome(prompt: prompt, goodOutputs: [], nodeErrors: JSONObject(), error: error)
            }
            guard let definition = registry[classType] else {
                // ComfyUI falls back to the class name here (not `ID #x`), which is what users need to see.
                let title = node.title ?? classType
                let error = PromptError(
                    type: "missing_node_type",
                    message: "Node '\(title)' not found. The custom node may not be installed.",
                    details: "Node ID '#\(id)'",
                    extraInfo: ["node_id": .string(id), "class_type": .string(classType), "node_title": .string(title)])
                return Outcome(prompt: prompt, goodOutputs: [], nodeErrors: JSONObject(), error: error)
            }
            if definition.schema.isOutputNode, partialTargets.map({ $0.contains(id) }) ?? true {
                outputs.append(id)
            }
        }
        guard !outputs.isEmpty else {
            return Outcome(prompt: prompt, goodOutputs: [], nodeErrors: JSONObject(),
                           error: PromptError(type: "prompt_no_outputs", message: "Prompt has no outputs"))
        }

        var state = ValidationState(prompt: prompt, registry: registry)
        var good: [String] = []
        // Every failed output's reasons: its own errors first, then those of its failing ancestors
        // (each node's errors once, even when several outputs depend on it).
        var failedReasons: [JSONValue] = []
        var reported: Set<String> = []
        var nodeErrors = JSONObject()
        for output in outputs {
            var path: [String] = []
            if state.validateNode(output, path: &path) {
                good.append(output)
                continue
            }
            let ancestors = state.ancestors(of: output)
            let failing = prompt.order.filter { ancestors.contains($0) && !(state.errors[$0] ?? []).isEmpty }
            for id in failing {
                let errors = state.errors[id]!
                var entry = nodeErrors[id]?.objectValue ?? [
                    "errors": .array(errors), "dependent_outputs": [],
                    "class_type": .string(prompt[id]?.classType ?? ""),
                ]
                var dependents = entry["dependent_outputs"]?.arrayValue ?? []
                dependents.append(.string(output))
                entry["dependent_outputs"] = .array(dependents)
                nodeErrors[id] = .object(entry)
            }
            for id in [output] + failing.filter({ $0 != output }) where reported.insert(id).inserted {
                failedReasons += state.errors[id] ?? []
            }
        }
        var outcome = Outcome(prompt: state.prompt, goodOutputs: good, nodeErrors: nodeErrors, error: nil)
        if good.isEmpty {
            let lines = failedReasons.map { reason -> String in
                "\(reason["message"]?.stringValue ?? ""): \(reason["details"]?.stringValue ?? "")"
            }
            outcome.error = PromptError(type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation",
                                        details: lines.joined(separator: "\n"))
        }
        return outcome
    }
}

/// Memoised per-node validation over one prompt.
struct ValidationState {
    var prompt: APIPrompt
    let registry: NodeRegistry
    /// node id → valid?
    var validated: [String: Bool] = [:]
    /// node id → its own errors (ComfyUI's reasons)
    var errors: [String: [JSONValue]] = [:]

    init(prompt: APIPrompt, registry: NodeRegistry) {
        self.prompt = prompt
        self.registry = registry
    }

    /// Every node reachable upstream from `id` through links, including `id`.
    func ancestors(of id: String) -> Set<String> {
        var seen: Set<String> = []
        var stack = [id]
        while let next = stack.popLast() {
            guard seen.insert(next).inserted, let node = prompt[next] else { continue }
            for (_, value) in node.inputs {
                if let link = Link(value), prompt[link.node] != nil { stack.append(link.node) }
            }
        }
        return seen
    }

    private func classType(_ id: String) -> String { prompt[id]?.classType ?? "" }

    mutating func markCycle(_ cycle: [String]) {
        let names = (cycle + [cycle[0]]).map { "\($0) (\(classType($0)))" }.joined(separator: " -> ")
        for id in cycle {
            let error: JSONValue = [
                "type": "dependency_cycle", "message": "Dependency cycle detected", "details": .string(names),
                "extra_info": ["node_id": .string(id), "cycle_nodes": JSONValue(cycle)],
            ]
            errors[id, default: []].append(error)
            validated[id] = false
        }
    }

    /// Validates node `id` and, recursively, what it links to. `path` is the current DFS stack.
    mutating func validateNode(_ id: String, path: inout [String]) -> Bool {
        if let done = validated[id] { return done }
        if let start = path.firstIndex(of: id) {
            markCycle(Array(path[start...]))
            return false
        }
        guard let node = prompt[id], let classType = node.classType, let definition = registry[classType] else {
            validated[id] = false
            return false
        }
        path.append(id)
        defer { path.removeLast() }

        var nodeErrors: [JSONValue] = []
        var valid = true
        var constants: [String: JSONValue] = [:]
        for (spec, isRequired) in definition.schema.declaredInputs {
            let name = spec.name
            let inputConfig = spec.objectInfoJSON
            guard let raw = node.inputs[name] else {
                if isRequired {
                    nodeErrors.append(Self.error("required_input_missing", "Required input is missing", name, ["input_name": .string(name)]))
                }
                continue
            }
            if case .array(let parts) = raw {
                guard parts.count == 2, let link = Link(raw) else {
                    nodeErrors.append(Self.error("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                                                 name, ["input_name": .string(name), "input_config": inputConfig, "received_value": raw]))
                    continue
                }
                guard let source = prompt[link.node], let sourceClass = source.classType, let sourceDef = registry[sourceClass] else {
                    nodeErrors.append(Self.error("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                                                 "\(name): node '\(link.node)' does not exist",
                                                 ["input_name": .string(name), "input_config": inputConfig, "received_value": raw]))
                    continue
                }
                guard link.output < sourceDef.schema.outputs.count else {
                    nodeErrors.append(Self.error("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                                                 "\(name): node '\(link.node)' has no output \(link.output)",
                                                 ["input_name": .string(name), "input_config": inputConfig, "received_value": raw]))
                    continue
                }
                let receivedType = sourceDef.schema.outputs[link.output].type
                if !Self.typesMatch(received: receivedType, expected: spec.typeName) {
                    nodeErrors.append(Self.error(
                        "return_type_mismatch", "Return type mismatch between linked nodes",
                        "\(name), received_type(\(receivedType)) mismatch input_type(\(spec.typeName))",
                        ["input_name": .string(name), "input_config": inputConfig, "received_type": .string(receivedType),
                         "linked_node": raw]))
                    continue
                }
                if !validateNode(link.node, path: &path) { valid = false }
                continue
            }
            // A constant.
            var value = raw
            if case .object(let o) = raw, let wrapped = o["__value__"] { value = wrapped }
            guard let coerced = Self.coerce(value, to: spec.kind) else {
                let exception = Self.conversionFailure(value, to: spec.kind)
                nodeErrors.append(Self.error(
                    "invalid_input_type", "Failed to convert an input value to a \(spec.typeName) value",
                    "\(name), \(Self.pythonString(value)), \(exception)",
                    ["input_name": .string(name), "input_config": inputConfig, "received_value": value,
                     "exception_message": .string(exception)]))
                continue
            }
            value = coerced
            // Arrays in a prompt are links, so a list constant keeps its `__value__` wrapper; the
            // executor unwraps it when handing the value to the node.
            if case .array = value {
                prompt.setInput(node: id, name: name, value: ["__value__": value])
            } else {
                prompt.setInput(node: id, name: name, value: value)
            }
            constants[name] = value
            if definition.validatedInputs.contains(name) { continue }
            if let min = spec.minimum, Self.compare(value, min) == .orderedAscending {
                nodeErrors.append(Self.error("value_smaller_than_min",
                                             "Value \(Self.pythonRepr(value, quoted: false)) smaller than min of \(Self.pythonRepr(min, quoted: false))",
                                             name, ["input_name": .string(name), "input_config": inputConfig, "received_value": value]))
                continue
            }
            if let max = spec.maximum, Self.compare(value, max) == .orderedDescending {
                nodeErrors.append(Self.error("value_bigger_than_max",
                                             "Value \(Self.pythonRepr(value, quoted: false)) bigger than max of \(Self.pythonRepr(max, quoted: false))",
                                             name, ["input_name": .string(name), "input_config": inputConfig, "received_value": value]))
                continue
            }
            if case .combo(let combo) = spec.kind {
                let options = combo.values()
                if !options.contains(where: { Self.looselyEqual($0, value) }) {
                    let listInfo = options.count > 20 ? "(list of length \(options.count))" : Self.pythonRepr(.array(options))
                    nodeErrors.append(Self.error("value_not_in_list", "Value not in list",
                                                 "\(name): '\(Self.pythonString(value))' not in \(listInfo)",
                                                 ["input_name": .string(name), "input_config": options.count > 20 ? .null : inputConfig,
                                                  "received_value": value]))
                    continue
                }
            }
        }
        if nodeErrors.isEmpty, let validate = definition.validate, let failure = validate(constants) {
            nodeErrors.append(Self.error("custom_validation_failed", "Custom validation failed for node",
                                         "\(failure.inputName) - \(failure.reason)", ["input_name": .string(failure.inputName)]))
        }
        if validated[id] == false { valid = false }  // marked by a cycle found below us
        errors[id, default: []].append(contentsOf: nodeErrors)
        let ok = valid && (errors[id] ?? []).isEmpty
        validated[id] = ok
        return ok
    }

    static func error(_ type: String, _ message: String, _ details: String, _ extra: JSONObject) -> JSONValue {
        ["type": .string(type), "message": .string(message), "details": .string(details), "extra_info": .object(extra)]
    }

    /// ComfyUI's `validate_node_input`: equal, either is `*`, or comma unions that intersect.
    static func typesMatch(received: String, expected: String) -> Bool {
        if received == expected || received == "*" || expected == "*" { return true }
        let a = Set(received.split(separator: ",").map { trimmed($0) })
        let b = Set(expected.split(separator: ",").map { trimmed($0) })
        return !a.isDisjoint(with: b)
    }
}
