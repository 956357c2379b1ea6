import FolderPaths
import Workflow

/// ComfyUI's `SaveImage` (nodes.py): writes `prefix_00001_.png`… into the output directory with the
/// prompt and workflow embedded as PNG text chunks (compress level 4).
enum SaveImageNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SaveImage", displayName: "Save Image",
            description: "Saves the input images to your ComfyUI output directory.",
            category: "image", pythonModule: "nodes", isOutputNode: true,
            required: [
                InputSpec("images", .socket(SocketType.image), tooltip: "The images to save."),
                InputSpec("filename_prefix", .string(StringOptions(default: "ComfyUI")),
                          tooltip: "The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes."),
            ],
            hidden: [.prompt, .extraPNGInfo],
            outputs: []
        )
        let saver = ImageSaver(directory: env.directories.output, kind: .output, compressLevel: 4,
                               disableMetadata: env.disableMetadata)
        return NodeDefinition(schema: schema) { inv in
            let images = try inv.image("images")
            let prefix = (try? inv.string("filename_prefix")) ?? "ComfyUI"
            let ui = try saver.save(images, prefix: prefix, prompt: inv.prompt, extraPNGInfo: inv.extraPNGInfo)
            return NodeResult(outputs: [], ui: ui)
        }
    }
}
