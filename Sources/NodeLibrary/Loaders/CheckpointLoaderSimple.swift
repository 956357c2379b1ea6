import Diffusion
import FolderPaths
import Workflow

/// ComfyUI's `CheckpointLoaderSimple`: opens a single-file checkpoint from `models/checkpoints`,
/// recognises its family (SD1.x so far) and returns MODEL, CLIP and VAE handles.
///
/// The file is memory-mapped and detected, and the CLIP text encoder is built at once (zero-copy from
/// the mapping) so that missing or unexpected keys fail here, at the loader, as in ComfyUI. The UNet
/// and VAE are only described by their handles; the nodes that run them load them. Everything goes
/// through the model cache, so a second prompt naming the same file reloads nothing.
enum CheckpointLoaderSimpleNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let folders = env.modelFolders
        let models = env.models
        let weightType = env.unetWeightType
        let schema = NodeSchema(
            name: "CheckpointLoaderSimple", displayName: "Load Checkpoint",
            description: "Loads a diffusion model checkpoint, diffusion models are used to denoise latents.",
            category: "loaders", pythonModule: "nodes",
            required: [
                InputSpec("ckpt_name", .combo(ComboOptions(dynamic: { folders.files(in: "checkpoints") ?? [] })),
                          tooltip: "The name of the checkpoint (model) to load."),
            ],
            outputs: [
                OutputSpec(SocketType.model, tooltip: "The model used for denoising latents."),
                OutputSpec(SocketType.clip, tooltip: "The CLIP model used for encoding text prompts."),
                OutputSpec(SocketType.vae, tooltip: "The VAE model used for encoding and decoding images to and from latent space."),
            ]
        )
        return NodeDefinition(schema: schema) { inv in
            let name = try inv.string("ckpt_name")
            guard let file = folders.modelFile("checkpoints", name: name) else {
                throw NodeError("Checkpoint not found: \(name)", type: "loom.ModelLoadError.fileNotFound")
            }
            do {
                let loaded = try models.checkpoint(file)
                let checkpoint = CheckpointHandle(loaded)
                guard let source = CLIPSource(checkpoint: loaded) else {
                    throw NodeError("\(name) has no text encoder (a Stable Video Diffusion checkpoint): load it with ImageOnlyCheckpointLoader",
                                    type: "loom.ModelLoadError.unsupportedModel")
                }
                let clip = CLIPHandle(source: source, cache: models)
                _ = try clip.encoder()
                return NodeResult(outputs: [
                    .object(ModelHandle(checkpoint: checkpoint, cache: models, weightType: weightType)),
                    .object(clip),
                    .object(VAEHandle(checkpoint: checkpoint, cache: models)),
                ])
            } catch {
                throw NodeError(error, loading: "checkpoint \(name)")
            }
        }
    }
}
