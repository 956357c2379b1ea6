import LoomTestSupport
import Diffusion
import Executor
import FolderPaths
import Foundation
import NodeLibrary
import Synchronization
import TensorCore
import TensorCPU
import Workflow

/// What the test-only output nodes saw, by node id.
final class Captured: Sendable {
    private let values = Mutex<[String: any Sendable]>([:])

    func record(_ node: String, _ value: any Sendable) { values.withLock { $0[node] = value } }
    subscript(node: String) -> Conditioning? { values.withLock { $0[node] as? Conditioning } }
    func latent(_ node: String) -> Latent? { values.withLock { $0[node] as? Latent } }
    func image(_ node: String) -> Tensor? { values.withLock { $0[node] as? Tensor } }
    func value(_ node: String) -> (any Sendable)? { values.withLock { $0[node] } }
}

/// Events in order, for cache checks.
final class Events: Sendable {
    private let list = Mutex<[ExecutionEvent]>([])

    func emit(_ event: ExecutionEvent) { list.withLock { $0.append(event) } }
    var all: [ExecutionEvent] { list.withLock { $0 } }
    func removeAll() { list.withLock { $0.removeAll() } }

    var executed: [String] {
        all.compactMap { if case .executing(let node) = $0 { node } else { nil } }
    }
    var cached: [String] {
        all.flatMap { event -> [String] in
            if case .cached(let nodes, _) = event { return nodes }
            return []
        }
    }
    var failure: ExecutionFailure? {
        all.lazy.compactMap { if case .failed(let failure) = $0 { failure } else { nil } }.first
    }
}

/// A temporary data directory holding the reduced SD1.5 checkpoint, the built-in nodes on the CPU
/// backend, a capture node, and an executor.
final class NodeHarness: Sendable {
    static let checkpointName = "sd15_reduced_s0.safetensors"
    /// One engine per process.
    static let backend: CPUBackend? = try? CPUBackend()

    let base: URL
    let directories: DataDirectories
    let environment: NodeEnvironment
    let registry: NodeRegistry
    let executor: PromptExecutor
    let captured = Captured()

    /// - Parameter prepare: called with the data directories before the registry is built.
    ///   - unetWeightType: the loaders' UNet dtype (`--bf16-unet`).
    init(unetWeightType: DType = .float32, prepare: (DataDirectories) throws -> Void = { _ in }) throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("loom-nodes-\(UUID().uuidString)")
        directories = DataDirectories(base: base.path)
        try directories.createLayout()
        let checkpoint = try ModelFixtures.reduced()
        try FileManager.default.createSymbolicLink(atPath: directories.models + "/checkpoints/" + Self.checkpointName,
                                                   withDestinationPath: checkpoint)
        try prepare(directories)
        guard let backend = Self.backend else { throw ModelFixtures.Failure(description: "no CPU backend") }
        environment = NodeEnvironment(directories: directories, backend: backend, models: ModelCache(budget: 4 << 30),
                                      unetWeightType: unetWeightType)
        var registry = BuiltinNodes.registry(environment)
        let captured = self.captured
        registry.register(NodeDefinition(schema: NodeSchema(
            name: "CaptureConditioning", category: "testing", isOutputNode: true,
            required: [InputSpec("conditioning", .socket("CONDITIONING"))])) { inv in
            captured.record(inv.context.nodeID, try inv.object("conditioning", as: Conditioning.self))
            return NodeResult()
        })
        registry.register(NodeDefinition(schema: NodeSchema(
            name: "CaptureLatent", category: "testing", isOutputNode: true,
            required: [InputSpec("samples", .socket("LATENT"))])) { inv in
            captured.record(inv.context.nodeID, try inv.latent("samples"))
            return NodeResult()
        })
        registry.register(NodeDefinition(schema: NodeSchema(
            name: "CaptureImage", category: "testing", isOutputNode: true,
            required: [InputSpec("images", .socket("IMAGE"))])) { inv in
            captured.record(inv.context.nodeID, try inv.image("images"))
            return NodeResult()
        })
        self.registry = registry
        executor = PromptExecutor(registry: registry)
    }

    deinit { try? FileManager.default.removeItem(at: base) }

    /// Validates `json` (an API prompt); returns the outcome.
    func validate(_ json: String) throws -> PromptValidator.Outcome {
        PromptValidator(registry: registry).validate(try APIPrompt(json: JSONValue.parse(json)))
    }

    /// Validates and runs `json`.
    @discardableResult
    func run(_ json: String, events: Events = Events()) throws -> ExecutionOutcome {
        let outcome = try validate(json)
        guard outcome.isValid else { throw outcome.error! }
        let request = ExecutionRequest(promptID: "p", prompt: outcome.prompt, outputsToExecute: outcome.goodOutputs, extraPNGInfo: nil)
        let result = executor.execute(request, interrupt: InterruptFlag(), emit: events.emit)
        if let failure = events.failure { print("node \(failure.nodeID) failed: \(failure.exceptionType): \(failure.exceptionMessage)") }
        return result
    }

    /// A prompt: checkpoint → (optional CLIPSetLastLayer) → one CLIPTextEncode + capture per text
    /// (encode nodes "10", "11", …; captures "20", "21", …).
    static func prompt(_ texts: [String], checkpoint: String = checkpointName, stopAtClipLayer: Int? = nil) -> String {
        var nodes = [#""4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": \#(quoted(checkpoint))}}"#]
        var clip = #"["4", 1]"#
        if let stopAtClipLayer {
            nodes.append(#""5": {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["4", 1], "stop_at_clip_layer": \#(stopAtClipLayer)}}"#)
            clip = #"["5", 0]"#
        }
        for (i, text) in texts.enumerated() {
            nodes.append(#""\#(10 + i)": {"class_type": "CLIPTextEncode", "inputs": {"text": \#(quoted(text)), "clip": \#(clip)}}"#)
            nodes.append(#""\#(20 + i)": {"class_type": "CaptureConditioning", "inputs": {"conditioning": ["\#(10 + i)", 0]}}"#)
        }
        return "{" + nodes.joined(separator: ",\n") + "}"
    }

    static func quoted(_ text: String) -> String { JSONValue.string(text).jsonString() }
}

/// Largest absolute difference between a tensor and a golden `.npy`, after checking shapes.
func maxDifference(_ tensor: Tensor, _ golden: NumpyArray) throws -> Float {
    guard tensor.shape == golden.shape else {
        throw ModelFixtures.Failure(description: "shape \(tensor.shape) vs golden \(golden.shape)")
    }
    return zip(tensor.contiguous(as: .float32).scalars, golden.values).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
