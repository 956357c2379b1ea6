import Checkpoints
import Diffusion
import FolderPaths
import Workflow

/// ComfyUI's `VAELoader`: a standalone KL autoencoder from `models/vae` (LDM key layout, with or without
/// the `first_stage_model.` prefix). The file is opened and recognised here; the weights load when a VAE
/// node first uses them.
enum VAELoaderNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let folders = env.modelFolders
        let models = env.models
        let schema = NodeSchema(
            name: "VAELoader", displayName: "Load VAE", category: "loaders", pythonModule: "nodes",
            required: [InputSpec("vae_name", .combo(ComboOptions(dynamic: { folders.files(in: "vae") ?? [] })))],
            outputs: [OutputSpec(SocketType.vae)]
        )
        return NodeDefinition(schema: schema) { inv in
            let name = try inv.string("vae_name")
            guard let file = folders.modelFile("vae", name: name) else {
                throw NodeError("VAE not found: \(name)", type: "loom.ModelLoadError.fileNotFound")
            }
            do {
                let mapping = try models.safetensors(file)
                let shapes = StateDictShapes(mapping)
                for prefix in ["", SD1CheckpointConfiguration.Component.vae.prefix] {
                    if let configuration = try AutoencoderKLConfiguration.detect(in: shapes, prefix: prefix) {
                        let vae = VAEHandle(file: file, prefix: prefix, configuration: configuration, cache: models)
                        _ = try vae.autoencoder()
                        return NodeResult(outputs: [.object(vae)])
                    }
                }
                if shapes.shapes.keys.contains(where: { $0.hasPrefix("decoder.up_blocks.") }) {
                    throw ModelLoadError(.unsupportedModel, "this VAE uses the diffusers key layout, which Loom does not load yet",
                                         path: file.path)
                }
                throw ModelLoadError(.unsupportedModel, "no KL autoencoder (encoder.conv_in.weight) in this file", path: file.path)
            } catch let error as CheckpointError {
                throw NodeError(ModelLoadError(.unsupportedModel, error.message, path: file.path), loading: "VAE \(name)")
            } catch {
                throw NodeError(error, loading: "VAE \(name)")
            }
        }
    }
}
