import Diffusion
import FolderPaths
import Workflow

/// ComfyUI's `CLIPLoader`: a standalone text-encoder file from `models/text_encoders` (or the legacy
/// `models/clip`).
///
/// Only `type` `stable_diffusion` (a CLIP-L text encoder, SD1.x's) loads so far; the other types are
/// listed, as ComfyUI lists them, and fail with a node error naming the type. A file that is not CLIP-L
/// fails with what was found in it. `device` is accepted and ignored (Loom computes on the CPU).
enum CLIPLoaderNode {
    /// ComfyUI's `type` choices, in its order (spec section 6).
    static let types = [
        "stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "cosmos", "lumina2",
        "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image", "hunyuan_image", "flux2", "ovis", "longcat_image",
        "cogvideox", "lens", "pixeldit", "ideogram4", "boogu", "krea2", "joyimage", "mage", "minimax",
    ]

    static let description = "[Recipes]\n\nstable_diffusion: clip-l\nstable_cascade: clip-g\nsd3: t5 xxl/ clip-g / clip-l\n"
        + "stable_audio: t5 base\nmochi: t5 xxl\ncosmos: old t5 xxl\nlumina2: gemma 2 2B\nwan: umt5 xxl\n"
        + " hidream: llama-3.1 (Recommend) or t5\nomnigen2: qwen vl 2.5 3B"

    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let folders = env.modelFolders
        let models = env.models
        let schema = NodeSchema(
            name: "CLIPLoader", displayName: "Load CLIP", description: description,
            category: "advanced/loaders", pythonModule: "nodes",
            required: [
                InputSpec("clip_name", .combo(ComboOptions(dynamic: { folders.files(in: "text_encoders") ?? [] }))),
                InputSpec("type", .combo(ComboOptions(types))),
            ],
            optional: [
                InputSpec("device", .combo(ComboOptions(["default", "cpu"])), extra: JSONObject([("advanced", .bool(true))])),
            ],
            outputs: [OutputSpec(SocketType.clip)]
        )
        return NodeDefinition(schema: schema) { inv in
            let name = try inv.string("clip_name")
            let type = try inv.string("type")
            guard type == "stable_diffusion" else {
                throw NodeError("CLIPLoader type '\(type)' is not supported yet: Loom loads only stable_diffusion (CLIP-L) text encoders",
                                type: "loom.ModelLoadError.unsupportedModel")
            }
            guard let file = folders.modelFile("text_encoders", name: name) else {
                throw NodeError("Text encoder not found: \(name)", type: "loom.ModelLoadError.fileNotFound")
            }
            do {
                let source = try CLIPSource.standaloneCLIPL(file: file, safetensors: try models.safetensors(file))
                let clip = CLIPHandle(source: source, cache: models)
                _ = try clip.encoder()
                return NodeResult(outputs: [.object(clip)])
            } catch {
                throw NodeError(error, loading: "text encoder \(name)")
            }
        }
    }
}
