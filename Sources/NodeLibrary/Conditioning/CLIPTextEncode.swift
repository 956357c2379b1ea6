import Diffusion
import Tokenizers
import Workflow

/// ComfyUI's `CLIPTextEncode`: tokenizes the prompt with SD1.x's rules (emphasis, 77-token windows)
/// and encodes it with the CLIP handle's encoder at its output layer, on the environment's backend.
/// Returns a CONDITIONING of one entry: `cond [1, 77·windows, 768]` with `pooled_output [1, 768]`.
enum CLIPTextEncodeNode {
    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let backend = env.backend
        let tokenizers = env.tokenizers
        let schema = NodeSchema(
            name: "CLIPTextEncode", displayName: "CLIP Text Encode (Prompt)",
            description: "Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion model towards generating specific images.",
            category: "conditioning", pythonModule: "nodes",
            required: [
                InputSpec("text", .string(StringOptions(multiline: true, dynamicPrompts: true)), tooltip: "The text to be encoded."),
                InputSpec("clip", .socket(SocketType.clip), tooltip: "The CLIP model used for encoding the text."),
            ],
            outputs: [
                OutputSpec(SocketType.conditioning,
                           tooltip: "A conditioning containing the embedded text used to guide the diffusion model."),
            ]
        )
        return NodeDefinition(schema: schema) { inv in
            let text = try inv.string("text")
            let clip = try inv.object("clip", as: CLIPHandle.self)
            let tokenizer: CLIPTokenizer
            do {
                tokenizer = try tokenizers.clip()
            } catch {
                throw NodeError("Cannot load the CLIP tokenizer: \(error)", type: "loom.TokenizerError")
            }
            try inv.context.checkInterrupted()
            do {
                return NodeResult(outputs: [.object(try clip.encode(text, tokenizer: tokenizer, backend: backend))])
            } catch {
                throw NodeError(error, loading: "the CLIP text encoder")
            }
        }
    }
}
