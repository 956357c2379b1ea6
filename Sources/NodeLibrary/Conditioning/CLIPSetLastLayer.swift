import Diffusion
import Workflow

/// ComfyUI's `CLIPSetLastLayer` ("clip skip"): the same encoder reading the output of an earlier
/// layer (−1 the last, −2 the penultimate, …). Returns a copy of the handle; nothing is reloaded.
enum CLIPSetLastLayerNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "CLIPSetLastLayer", displayName: "CLIP Set Last Layer", category: "conditioning", pythonModule: "nodes",
            required: [
                InputSpec("clip", .socket(SocketType.clip)),
                InputSpec("stop_at_clip_layer", .int(IntOptions(default: -1, min: -24, max: .int(-1), step: 1))),
            ],
            outputs: [OutputSpec(SocketType.clip)]
        )
        return NodeDefinition(schema: schema) { inv in
            let clip = try inv.object("clip", as: CLIPHandle.self)
            let layer = try inv.int("stop_at_clip_layer")
            return NodeResult(outputs: [.object(clip.settingLastLayer(Int(layer)))])
        }
    }
}
