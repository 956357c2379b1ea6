import FolderPaths
import Workflow

/// ComfyUI's `PreviewImage`: SaveImage into the temp directory with the prefix
/// `ComfyUI_temp_<5 random letters>`, compress level 1, type `temp`.
enum PreviewImageNode {
    /// ComfyUI's alphabet for the random suffix (sic: no "w", two "p").
    static let suffixAlphabet = Array("abcdefghijklmnopqrstupvxyz")

    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "PreviewImage", displayName: "Preview Image",
            description: "Saves the input images to your ComfyUI output directory.",
            category: "image", pythonModule: "nodes", isOutputNode: true,
            required: [InputSpec("images", .socket(SocketType.image))],
            hidden: [.prompt, .extraPNGInfo],
            outputs: []
        )
        let saver = ImageSaver(directory: env.directories.temp, kind: .temp, compressLevel: 1,
                               disableMetadata: env.disableMetadata)
        return NodeDefinition(schema: schema) { inv in
            let images = try inv.image("images")
            var rng = SystemRandomNumberGenerator()
            let suffix = String((0..<5).map { _ in suffixAlphabet.randomElement(using: &rng)! })
            let ui = try saver.save(images, prefix: "ComfyUI_temp_" + suffix, prompt: inv.prompt,
                                    extraPNGInfo: inv.extraPNGInfo)
            return NodeResult(outputs: [], ui: ui)
        }
    }
}
