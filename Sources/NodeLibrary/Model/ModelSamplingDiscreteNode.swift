import Diffusion
import Workflow

/// ComfyUI's `ModelSamplingDiscrete` (advanced/model): a MODEL whose sampler treats the network as an eps-,
/// v- or x0-predicting model, optionally with the schedule rescaled to zero terminal SNR. The weights are
/// shared; only the handle's sampling changes.
///
/// `lcm` is a latent consistency model on the distilled 50-step schedule (`ModelSamplingDiscreteDistilled`);
/// `img_to_img` an x0 model fed the unscaled latent.
enum ModelSamplingDiscreteNode {
    static let samplings: [(String, ModelSampling.Prediction)] = [
        ("eps", .eps), ("v_prediction", .vPrediction), ("lcm", .lcm), ("x0", .x0), ("img_to_img", .imgToImg),
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
            let base = ModelSampling(prediction: prediction, zeroTerminalSNR: try inv.bool("zsnr"))
            model.sampling = prediction == .lcm ? base.distilled(prediction: .lcm) : base
            return NodeResult(outputs: [.object(model)])
        }
    }
}
