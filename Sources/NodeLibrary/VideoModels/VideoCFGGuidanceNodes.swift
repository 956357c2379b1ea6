import Diffusion
import Workflow

/// ComfyUI's `VideoLinearCFGGuidance` and `VideoTriangleCFGGuidance` (sampling/video_models): a MODEL whose
/// guidance scale varies over the frames of a video batch, from `min_cfg` to the sampler's cfg (linearly from the
/// first frame to the last, or rising to the middle frame and falling again). The weights are shared; only the
/// handle's guidance formula changes.
enum VideoCFGGuidanceNodes {
    static func linear(_ env: NodeEnvironment) -> NodeDefinition {
        definition(name: "VideoLinearCFGGuidance", displayName: "Video Linear CFG Guidance") { .linear(minCFG: $0) }
    }

    static func triangle(_ env: NodeEnvironment) -> NodeDefinition {
        definition(name: "VideoTriangleCFGGuidance", displayName: "Video Triangle CFG Guidance") { .triangle(minCFG: $0) }
    }

    private static func definition(name: String, displayName: String, _ function: @escaping @Sendable (Double) -> CFGFunction) -> NodeDefinition {
        let schema = NodeSchema(
            name: name, displayName: displayName, category: "sampling/video_models",
            pythonModule: "comfy_extras.nodes_video_model",
            required: [
                InputSpec("model", .socket(SocketType.model)),
                InputSpec("min_cfg", .float(FloatOptions(default: 1.0, min: 0, max: 100, step: 0.5, round: 0.01))),
            ],
            outputs: [OutputSpec(SocketType.model)]
        )
        return NodeDefinition(schema: schema) { inv in
            var model = try inv.object("model", as: ModelHandle.self)
            let minCFG = try inv.double("min_cfg")
            guard minCFG.isFinite else { throw NodeError("min_cfg must be a finite number") }
            model.cfgFunction = function(minCFG)
            return NodeResult(outputs: [.object(model)])
        }
    }
}
