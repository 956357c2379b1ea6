import Foundation
import Workflow

/// Runs validated prompts: only what the requested outputs need, in dependency order, reusing
/// cached outputs whose input signature is unchanged, stopping at the first error or interrupt.
///
/// `execute` is synchronous and does the compute itself; call it from a compute thread, never from an
/// event loop or the cooperative pool.
public final class PromptExecutor: @unchecked Sendable {
    // Safety: the cache and counter are only touched inside `execute`/`clearCache`, which take
    // `lock`; in practice one worker thread drives an executor.
    private let lock = NSLock()
    private var cache = OutputCache()
    private var volatileCounter = 0
    public let registry: NodeRegistry

    public init(registry: NodeRegistry) {
        self.registry = registry
    }

    /// Drops every cached output (`POST /free {"free_memory": true}`).
    public func clearCache() {
        lock.withLock { cache.removeAll() }
    }

    /// Number of cached node results (for tests and stats).
    public var cachedEntryCount: Int { lock.withLock { cache.count } }

    /// Runs one prompt, reporting progress through `emit`.
    public func execute(_ request: ExecutionRequest, interrupt: InterruptFlag,
                        emit: @escaping @Sendable (ExecutionEvent) -> Void) -> ExecutionOutcome {
        lock.withLock { run(request, interrupt: interrupt, emit: emit) }
    }

    private func run(_ request: ExecutionRequest, interrupt: InterruptFlag,
                     emit: @escaping @Sendable (ExecutionEvent) -> Void) -> ExecutionOutcome {
        let prompt = request.prompt
        emit(.started(timestamp: currentTimeMillis()))

        var builder = SignatureBuilder(prompt: prompt, registry: registry, volatileSeed: volatileCounter)
        for id in prompt.order { _ = builder.signature(of: id, cache: &cache) }
        volatileCounter += prompt.order.count + 1
        let signatures = builder.signatures
        cache.retain(only: Set(signatures.values))

        let cachedNodes = prompt.order.filter { cache[signatures[$0]!] != nil }
        emit(.cached(nodes: cachedNodes, timestamp: currentTimeMillis()))

        var outputs = JSONObject()
        var meta = JSONObject()
        func record(_ node: String, _ ui: JSONObject) {
            outputs[node] = .object(ui)
            meta[node] = ["node_id": .string(node), "display_node": .string(node), "parent_node": .null, "real_node_id": .string(node)]
        }
        // Cached output nodes re-emit their UI, which also lands in this prompt's history.
        // A cached output node without UI output still reports `executed` with a null output.
        for id in request.outputsToExecute {
            guard let signature = signatures[id], let entry = cache[signature] else { continue }
            if let ui = entry.ui { record(id, ui) }
            emit(.executed(node: id, output: entry.ui))
        }

        let order = executionOrder(outputs: request.outputsToExecute, prompt: prompt,
                                   isCached: { id in signatures[id].map { cache[$0] != nil } ?? false })
        // ComfyUI's `executed`: nodes run by this prompt (cache hits are reported by `cached` instead).
        var executed: [String] = []
        for id in order {
            let node = prompt[id]!
            let classType = node.classType ?? ""
            if interrupt.isSet {
                emit(.interrupted(node: id, nodeType: classType, executed: executed, timestamp: currentTimeMillis()))
                return ExecutionOutcome(status: .interrupted, outputs: outputs, meta: meta)
            }
            emit(.executing(node: id))
            let context = ExecutionContext(promptID: request.promptID, nodeID: id, interrupt: interrupt, emit: emit)
            var currentInputs = JSONObject()
            do {
                guard let definition = registry[classType] else { throw NodeError("Node type \(classType) is not available") }
                let inputs = try resolveInputs(node: node, schema: definition.schema, signatures: signatures)
                for (name, list) in inputs { currentInputs[name] = .array(list.map(Self.describe)) }
                let entry = try call(definition, inputs: inputs, request: request, context: context)
                cache[signatures[id]!] = entry
                executed.append(id)
                if let ui = entry.ui {
                    record(id, ui)
                    emit(.executed(node: id, output: ui))
                }
            } catch is InterruptedError {
                emit(.interrupted(node: id, nodeType: classType, executed: executed, timestamp: currentTimeMillis()))
                return ExecutionOutcome(status: .interrupted, outputs: outputs, meta: meta)
            } catch {
                let (message, type) = Self.describeError(error)
                let inCache = prompt.order.filter { cache[signatures[$0]!] != nil }
                emit(.failed(ExecutionFailure(
                    nodeID: id, nodeType: classType, executed: executed, exceptionMessage: message, exceptionType: type,
                    traceback: ["  in node \(id) (\(classType)): \(message)"], currentInputs: currentInputs,
                    currentOutputs: inCache, timestamp: currentTimeMillis())))
                return ExecutionOutcome(status: .failed, outputs: outputs, meta: meta)
            }
        }
        emit(.succeeded(timestamp: currentTimeMillis()))
        return ExecutionOutcome(status: .success, outputs: outputs, meta: meta)
    }

    /// Depth-first post-order from each output: every non-cached ancestor runs before its consumers.
    ///
    /// Only links in declared inputs are followed: those are the ones validation checked and
    /// `resolveInputs` reads, so a stray link in an undeclared input neither runs an unvalidated node
    /// nor points at a node that does not exist.
    func executionOrder(outputs: [String], prompt: APIPrompt, isCached: (String) -> Bool) -> [String] {
        var order: [String] = []
        var visited: Set<String> = []
        func visit(_ id: String) {
            guard !visited.contains(id), let node = prompt[id], !isCached(id) else { return }
            visited.insert(id)
            let schema = node.classType.flatMap { registry[$0]?.schema }
            for (spec, _) in schema?.declaredInputs ?? [] {
                if let value = node.inputs[spec.name], let link = Link(value) { visit(link.node) }
            }
            order.append(id)
        }
        for output in outputs { visit(output) }
        return order
    }

    /// Each declared input as a list: constants become one-element lists, links the upstream output list.
    private func resolveInputs(node: APIPrompt.Node, schema: NodeSchema, signatures: [String: String]) throws -> [String: [NodeValue]] {
        var resolved: [String: [NodeValue]] = [:]
        for (spec, _) in schema.declaredInputs {
            guard let raw = node.inputs[spec.name] else { continue }
            if let link = Link(raw) {
                guard let upstream = signatures[link.node].flatMap({ cache[$0] }), link.output < upstream.outputs.count else {
                    throw NodeError("Input '\(spec.name)' of node \(node.id) has no value from node \(link.node)")
                }
                resolved[spec.name] = upstream.outputs[link.output]
            } else {
                resolved[spec.name] = [Self.constant(raw, kind: spec.kind)]
            }
        }
        if schema.acceptsUndeclaredInputs {
            for (name, raw) in node.inputs where resolved[name] == nil && schema.input(named: name) == nil && Link(raw) == nil {
                resolved[name] = [Self.constant(raw, kind: .socket("*"))]
            }
        }
        return resolved
    }

    /// Calls the node once per list index (or once with whole lists for list-input nodes) and merges
    /// the results as ComfyUI does.
    private func call(_ definition: NodeDefinition, inputs: [String: [NodeValue]], request: ExecutionRequest,
                      context: ExecutionContext) throws -> OutputCache.Entry {
        let schema = definition.schema
        var calls: [[String: NodeValue]] = []
        if schema.isInputList {
            calls = [inputs.mapValues { NodeValue.list($0) }]
        } else {
            let count = inputs.isEmpty ? 1 : (inputs.values.map(\.count).max() ?? 1)
            if inputs.values.contains(where: { $0.isEmpty }) { calls = [] } else {
                for i in 0..<count { calls.append(inputs.mapValues { $0[min(i, $0.count - 1)] }) }
            }
        }
        var outputs = [[NodeValue]](repeating: [], count: schema.outputs.count)
        var ui: JSONObject?
        for callInputs in calls {
            try context.checkInterrupted()
            let result = try definition.execute(NodeInvocation(inputs: callInputs, prompt: request.promptJSON,
                                                               extraPNGInfo: request.extraPNGInfo, context: context))
            guard result.outputs.count == schema.outputs.count else {
                throw NodeError("\(schema.name) returned \(result.outputs.count) outputs, declared \(schema.outputs.count)")
            }
            for (slot, value) in result.outputs.enumerated() {
                if schema.outputs[slot].isList, case .list(let items) = value {
                    outputs[slot].append(contentsOf: items)
                } else {
                    outputs[slot].append(value)
                }
            }
            if let callUI = result.ui {
                var merged = ui ?? JSONObject()
                for (key, value) in callUI {
                    if case .array(let existing) = merged[key], case .array(let more) = value {
                        merged[key] = .array(existing + more)
                    } else {
                        merged[key] = value
                    }
                }
                ui = merged
            }
        }
        return OutputCache.Entry(outputs: outputs, ui: ui)
    }

    /// A prompt constant as the value a node receives.
    static func constant(_ raw: JSONValue, kind: InputSpec.Kind) -> NodeValue {
        var value = raw
        if case .object(let o) = raw, let wrapped = o["__value__"] { value = wrapped }
        switch (kind, value) {
        case (_, .int(let i)): if case .float = kind { return .float(Double(i)) } else { return .int(i) }
        case (_, .uint(let u)): if case .float = kind { return .float(Double(u)) } else { return .int(Int64(bitPattern: u)) }
        case (_, .double(let d)): return .float(d)
        case (_, .string(let s)): return .string(s)
        case (_, .bool(let b)): return .bool(b)
        default: return .json(value)
        }
    }

    /// `current_inputs` formatting: constants verbatim, opaque values by type name.
    static func describe(_ value: NodeValue) -> JSONValue {
        if let json = value.jsonValue { return json }
        if case .object(let o) = value { return .string(String(describing: type(of: o))) }
        return .null
    }

    static func describeError(_ error: any Error) -> (message: String, type: String) {
        if let e = error as? NodeError { return (e.message, e.type) }
        return (String(describing: error), "loom.\(type(of: error))")
    }
}
