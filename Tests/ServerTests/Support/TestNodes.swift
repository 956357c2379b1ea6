#if canImport(Glibc)
import Glibc
#endif
import NodeLibrary
import TensorCore
import Workflow

/// Test-only nodes registered next to the built-in ones: a slow node that reports progress and
/// honours interruption, and a node that always throws.
enum TestNodes {
    /// `SlowNode`: an output node that runs `steps` ticks of `tick_ms` each, reporting progress and
    /// polling for interruption on every tick. `seed` only varies the cache key.
    static let slow: NodeDefinition = {
        let schema = NodeSchema(
            name: "SlowNode", category: "testing", pythonModule: "custom_nodes.loom_tests", isOutputNode: true,
            required: [
                InputSpec("steps", .int(IntOptions(default: 10, min: 1, max: .int(100_000)))),
                InputSpec("seed", .int(IntOptions(default: 0, min: 0, max: .int(1 << 40)))),
            ],
            optional: [InputSpec("tick_ms", .int(IntOptions(default: 50, min: 1, max: .int(10_000))))]
        )
        return NodeDefinition(schema: schema) { inv in
            let steps = Int(try inv.int("steps"))
            let tick = (try? inv.int("tick_ms")).map(Int.init) ?? 50
            for step in 1...steps {
                try inv.context.checkInterrupted()
                usleep(UInt32(tick * 1000))
                try inv.context.progress(step, of: steps)
            }
            return NodeResult(outputs: [], ui: ["text": ["slow done"]])
        }
    }()

    /// `FailNode`: an output node that takes an IMAGE and always throws `message`.
    static let fail: NodeDefinition = {
        let schema = NodeSchema(
            name: "FailNode", category: "testing", pythonModule: "custom_nodes.loom_tests", isOutputNode: true,
            required: [
                InputSpec("image", .socket(SocketType.image)),
                InputSpec("message", .string(StringOptions(default: "boom"))),
            ]
        )
        return NodeDefinition(schema: schema) { inv in
            throw NodeError(try inv.string("message"), type: "loom.tests.Boom")
        }
    }()

    /// `MaskToImage` (as in ComfyUI's comfy_extras): a MASK `[B, H, W]` as a grey IMAGE `[B, H, W, 3]`,
    /// so a mask can reach SaveImage.
    static let maskToImage: NodeDefinition = {
        let schema = NodeSchema(
            name: "MaskToImage", category: "mask", pythonModule: "custom_nodes.loom_tests",
            required: [InputSpec("mask", .socket(SocketType.mask))],
            outputs: [OutputSpec(SocketType.image)]
        )
        return NodeDefinition(schema: schema) { inv in
            let mask = try inv.mask("mask")
            let scalars = mask.scalars.flatMap { [$0, $0, $0] }
            return NodeResult(outputs: [.tensor(Tensor(shape: mask.shape + [3], scalars: scalars))])
        }
    }()

    /// The built-in nodes plus the test nodes.
    static func registry(_ env: NodeEnvironment) -> NodeRegistry {
        var registry = BuiltinNodes.registry(env)
        registry.register(slow)
        registry.register(fail)
        registry.register(maskToImage)
        return registry
    }
}
