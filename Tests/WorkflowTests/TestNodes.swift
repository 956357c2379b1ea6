import Executor
import Foundation
import Synchronization
import Workflow

/// Records which nodes ran (by node id), shared between a test and the node closures it registers.
final class CallLog: Sendable {
    private let calls = Mutex<[String]>([])

    func record(_ entry: String) { calls.withLock { $0.append(entry) } }
    var entries: [String] { calls.withLock { $0 } }
    func reset() { calls.withLock { $0.removeAll() } }
}

/// Collects executor events from whatever thread emits them.
final class EventLog: Sendable {
    private let events = Mutex<[ExecutionEvent]>([])

    var emit: @Sendable (ExecutionEvent) -> Void { { [self] event in events.withLock { $0.append(event) } } }
    var all: [ExecutionEvent] { events.withLock { $0 } }

    /// Events as short strings (timestamps dropped) for readable comparisons.
    var summary: [String] { all.map(Self.describe) }

    static func describe(_ event: ExecutionEvent) -> String {
        switch event {
        case .started: return "started"
        case .cached(let nodes, _): return "cached[\(nodes.joined(separator: ","))]"
        case .executing(let node): return "executing \(node)"
        case .progress(let node, let value, let max): return "progress \(node) \(value)/\(max)"
        case .executed(let node, let output): return "executed \(node) \((output.map(JSONValue.object) ?? .null).jsonString())"
        case .succeeded: return "succeeded"
        case .failed(let f): return "failed \(f.nodeID)"
        case .interrupted(let node, _, _, _): return "interrupted \(node)"
        }
    }
}

/// Small nodes that exercise validation and execution without any tensors.
enum TestNodes {
    /// Every test node, recording its calls (as `"<Class> <node id>"`) into `log`.
    static func registry(log: CallLog = CallLog(), slowStepDelay: useconds_t = 2_000) -> NodeRegistry {
        NodeRegistry([
            number(log), add(log), show(log), slow(log, delay: slowStepDelay), fail(log), range(log), sum(log),
            volatile(log), checked(log), pick(log), bigPick(log), widgets(log),
            imageSource(log), anySource(log), imageOrLatentSink(log), latentSink(log), anySink(log),
        ])
    }

    private static func logged(_ log: CallLog, _ name: String, _ invocation: NodeInvocation) {
        log.record("\(name) \(invocation.context.nodeID)")
    }

    /// `Number(value: INT 0…1_000_000) -> INT`
    static func number(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Number", category: "test",
            required: [InputSpec("value", .int(IntOptions(default: 0, min: 0, max: 1_000_000)))],
            outputs: [OutputSpec("INT")])) { inv in
            logged(log, "Number", inv)
            return NodeResult(outputs: [.int(try inv.int("value"))])
        }
    }

    /// `Add(a: INT, b: INT) -> INT`
    static func add(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Add", category: "test",
            required: [InputSpec("a", .int(IntOptions(default: 0))), InputSpec("b", .int(IntOptions(default: 0)))],
            outputs: [OutputSpec("INT")])) { inv in
            logged(log, "Add", inv)
            return NodeResult(outputs: [.int(try inv.int("a") + inv.int("b"))])
        }
    }

    static func text(_ value: NodeValue?) -> String {
        switch value {
        case .int(let i): return String(i)
        case .float(let d): return String(d)
        case .string(let s): return s
        case .bool(let b): return String(b)
        case .json(let j): return j.jsonString()
        case .list(let l): return "[" + l.map { text($0) }.joined(separator: ", ") + "]"
        case .object(let o): return "\(o)"
        case nil: return "nil"
        }
    }

    /// Output node `Show(value: *)` with UI `{"text": ["<value>"]}`.
    static func show(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Show", category: "test", isOutputNode: true,
            required: [InputSpec("value", .socket("*"))])) { inv in
            logged(log, "Show", inv)
            return NodeResult(ui: ["text": [.string(text(inv["value"]))]])
        }
    }

    /// `Slow(value: INT, steps: INT) -> INT`: reports progress every step and sleeps in between.
    static func slow(_ log: CallLog, delay: useconds_t) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Slow", category: "test",
            required: [InputSpec("value", .int(IntOptions(default: 0))), InputSpec("steps", .int(IntOptions(default: 5, min: 1)))],
            outputs: [OutputSpec("INT")])) { inv in
            logged(log, "Slow", inv)
            let steps = Int(try inv.int("steps"))
            for step in 1...steps {
                usleep(delay)
                try inv.context.progress(step, of: steps)
            }
            return NodeResult(outputs: [.int(try inv.int("value"))])
        }
    }

    /// `Fail(value: INT) -> INT`: always throws.
    static func fail(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Fail", category: "test",
            required: [InputSpec("value", .int(IntOptions(default: 0)))],
            outputs: [OutputSpec("INT")])) { inv in
            logged(log, "Fail", inv)
            throw NodeError("boom", type: "test.Boom")
        }
    }

    /// `Range(count: INT) -> [INT]` (list output): `0..<count`.
    static func range(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Range", category: "test",
            required: [InputSpec("count", .int(IntOptions(default: 3, min: 0)))],
            outputs: [OutputSpec("INT", isList: true)])) { inv in
            logged(log, "Range", inv)
            return NodeResult(outputs: [.list((0..<(try inv.int("count"))).map { .int($0) })])
        }
    }

    /// `Sum(values: INT) -> INT` taking whole lists (`INPUT_IS_LIST`).
    static func sum(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Sum", category: "test",
            required: [InputSpec("values", .int(IntOptions(default: 0)))],
            outputs: [OutputSpec("INT")], isInputList: true)) { inv in
            logged(log, "Sum", inv)
            guard case .list(let items) = inv["values"] else { throw NodeError("values is not a list") }
            var total: Int64 = 0
            for item in items {
                guard case .int(let i) = item else { throw NodeError("not an int") }
                total += i
            }
            return NodeResult(outputs: [.int(total)])
        }
    }

    /// `Volatile(value: INT) -> INT` whose fingerprint is `nil` (always re-run).
    static func volatile(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(
            schema: NodeSchema(name: "Volatile", category: "test",
                               required: [InputSpec("value", .int(IntOptions(default: 0)))], outputs: [OutputSpec("INT")]),
            fingerprint: { _ in nil }) { inv in
            logged(log, "Volatile", inv)
            return NodeResult(outputs: [.int(try inv.int("value"))])
        }
    }

    /// Output node `Checked(name: STRING, limit: INT 0…10)` with a custom validator that rejects
    /// `name == "bad"` and covers `limit` (so the generic max check is skipped for it).
    static func checked(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(
            schema: NodeSchema(name: "Checked", category: "test", isOutputNode: true,
                               required: [InputSpec("name", .string(StringOptions())),
                                          InputSpec("limit", .int(IntOptions(default: 0, min: 0, max: 10)))]),
            validate: { constants in
                constants["name"] == "bad" ? ValidationFailure(inputName: "name", reason: "must not be bad") : nil
            },
            validatedInputs: ["name", "limit"]) { inv in
            logged(log, "Checked", inv)
            return NodeResult(ui: ["text": [.string(try inv.string("name"))]])
        }
    }

    /// Output node `Pick(choice: ["a", "b"])` (legacy COMBO encoding).
    static func pick(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Pick", category: "test", isOutputNode: true,
            required: [InputSpec("choice", .combo(ComboOptions(["a", "b"])))])) { inv in
            logged(log, "Pick", inv)
            return NodeResult(ui: ["text": [.string(try inv.string("choice"))]])
        }
    }

    /// Output node `BigPick(choice: 25 options)`.
    static func bigPick(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "BigPick", category: "test", isOutputNode: true,
            required: [InputSpec("choice", .combo(ComboOptions((0..<25).map { "m\($0).safetensors" })))])) { inv in
            logged(log, "BigPick", inv)
            return NodeResult(ui: ["text": [.string(try inv.string("choice"))]])
        }
    }

    /// Output node with one widget of each scalar type; its UI echoes the values it received.
    static func widgets(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(
            name: "Widgets", category: "test", isOutputNode: true,
            required: [
                InputSpec("count", .int(IntOptions(default: 1, min: 1, max: 100))),
                InputSpec("ratio", .float(FloatOptions(default: 0.5, min: 0.0, max: 10.0))),
                InputSpec("flag", .boolean(BoolOptions(default: false))),
                InputSpec("text", .string(StringOptions())),
            ],
            optional: [InputSpec("extra", .socket("*"))])) { inv in
            logged(log, "Widgets", inv)
            return NodeResult(ui: ["text": [.string(text(inv["count"])), .string(text(inv["ratio"])),
                                            .string(text(inv["flag"])), .string(text(inv["text"])),
                                            .string(text(inv["extra"]))]])
        }
    }

    struct Image: Sendable { var id: Int }

    /// `ImageSource() -> IMAGE`
    static func imageSource(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(name: "ImageSource", category: "test", outputs: [OutputSpec("IMAGE")])) { inv in
            logged(log, "ImageSource", inv)
            return NodeResult(outputs: [.object(Image(id: 1))])
        }
    }

    /// `AnySource() -> *`
    static func anySource(_ log: CallLog) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(name: "AnySource", category: "test", outputs: [OutputSpec("*")])) { inv in
            logged(log, "AnySource", inv)
            return NodeResult(outputs: [.object(Image(id: 2))])
        }
    }

    private static func sink(_ log: CallLog, name: String, type: String) -> NodeDefinition {
        NodeDefinition(schema: NodeSchema(name: name, category: "test", isOutputNode: true,
                                          required: [InputSpec("input", .socket(type))])) { inv in
            logged(log, name, inv)
            return NodeResult(ui: ["text": ["ok"]])
        }
    }

    static func imageOrLatentSink(_ log: CallLog) -> NodeDefinition { sink(log, name: "ImageOrLatentSink", type: "IMAGE,LATENT") }
    static func latentSink(_ log: CallLog) -> NodeDefinition { sink(log, name: "LatentSink", type: "LATENT") }
    static func anySink(_ log: CallLog) -> NodeDefinition { sink(log, name: "AnySink", type: "*") }
}

/// Parses an API prompt written as JSON text.
func apiPrompt(_ json: String) throws -> APIPrompt {
    try APIPrompt(json: JSONValue.parse(json))
}

/// Validates and runs `prompt` on `executor`, executing the outputs that validated.
@discardableResult
func run(_ json: String, on executor: PromptExecutor, events: EventLog = EventLog(),
         interrupt: InterruptFlag = InterruptFlag()) throws -> ExecutionOutcome {
    let outcome = PromptValidator(registry: executor.registry).validate(try apiPrompt(json))
    guard outcome.isValid else { throw outcome.error! }
    let request = ExecutionRequest(promptID: "p", prompt: outcome.prompt, outputsToExecute: outcome.goodOutputs, extraPNGInfo: nil)
    return executor.execute(request, interrupt: interrupt, emit: events.emit)
}
