import Diffusion
import Workflow

/// ComfyUI's `ModelSamplingDiscrete` (advanced/model): a MODEL whose sampler treats the network as an eps-,
/// v- or x0-predicting model, optionally with the schedule rescaled to zero terminal SNR. The weights are
/// shared; only the handle's sampling changes.
///
/// ComfyUI also offers `lcm` (the distilled 50-step schedule) and `img_to_img`; Loom lists only what it
/// implements, so a workflow naming those fails validation with ComfyUI's `value_not_in_list`.
enum ModelSamplingDiscreteNode {
    static let samplings: [(String, ModelSampling.Prediction)] = [
        ("eps", .eps), ("v_prediction", .vPrediction), ("x0", .x0),
    ]

    static func definition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "ModelSamplingDiscrete", displayName: "ModelSamplingDiscrete", category: "advanced/model",
            pythonModule: "comfy_extras.nodes_model_advanced",
            required: [
                InputSpec("model", .socket(SocketType.model)),
                InputSpec("sampling", .combo(ComboOptions(samplings.map(\.0)))),
                InputSpec("zsnr", .boolean(BoolOptions(default: false))),
            ],
            outputs: [OutputSpec(SocketType.model)]
        )
        return NodeDefinition(schema: schema) { inv in
            var model = try inv.object("model", as: ModelHandle.self)
            let name = try inv.string("sampling")
            guard let prediction = samplings.first(where: { $0.0 == name })?.1 else {
                throw NodeError("Unknown sampling '\(name)'")
            }
            model.sampling = ModelSampling(prediction: prediction, zeroTerminalSNR: try inv.bool("zsnr"))
            return NodeResult(outputs: [.object(model)])
        }
    }
}
