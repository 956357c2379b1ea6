import Foundation

/// Error measures the parity tests report against ComfyUI's goldens.
public enum Parity {
    /// max |a − b| ÷ max |b| (the measure for latents and model outputs, whose magnitude random
    /// weights make large).
    public static func relativeError(_ values: [Float], reference: [Float]) -> Float {
        precondition(values.count == reference.count, "relativeError: \(values.count) vs \(reference.count) values")
        var worst: Float = 0, scale: Float = 0
        for (a, b) in zip(values, reference) {
            worst = max(worst, abs(a - b))
            scale = max(scale, abs(b))
        }
        return scale == 0 ? worst : worst / scale
    }

    /// PSNR in dB of two 8-bit images of the same size (infinity when identical).
    public static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "psnr: \(a.count) vs \(b.count) samples")
        var sum = 0.0
        for (x, y) in zip(a, b) {
            let d = Double(x) - Double(y)
            sum += d * d
        }
        let mse = sum / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// One case of the txt2img golden set (`comfy_sd15_reduced_s0/<width>x<height>_<sampler>_<scheduler>`).
    public struct Txt2ImgCase: Sendable, CustomStringConvertible {
        public var folder: URL
        public var width: Int
        public var height: Int
        public var sampler: String
        public var scheduler: String
        public var description: String { folder.lastPathComponent }
    }

    /// Every case folder of the txt2img goldens, sorted by name.
    public static func txt2imgCases() throws -> [Txt2ImgCase] {
        let root = ModelFixtures.txt2img
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        return names.compactMap { name in
            var parts = name.split(separator: "_").map(String.init)
            guard parts.count >= 3, let size = parts.first?.split(separator: "x"), size.count == 2,
                  let width = Int(size[0]), let height = Int(size[1]) else { return nil }
            let scheduler = parts.removeLast()
            parts.removeFirst()
            return Txt2ImgCase(folder: root.appendingPathComponent(name), width: width, height: height,
                               sampler: parts.joined(separator: "_"), scheduler: scheduler)
        }
    }

    /// The API-format workflow of the txt2img goldens for `testCase` (manifest template with the case's
    /// overrides, its latent-dump node removed), with `checkpoint` as the checkpoint name.
    public static func txt2imgWorkflow(_ testCase: Txt2ImgCase, checkpoint: String, prefix: String) throws -> String {
        let manifest = try JSONSerialization.jsonObject(
            with: Data(contentsOf: ModelFixtures.txt2img.appendingPathComponent("manifest.json"))) as? [String: Any]
        guard var workflow = manifest?["workflow_api_template"] as? [String: Any] else {
            throw ModelFixtures.Failure(description: "no workflow_api_template in the txt2img manifest")
        }
        workflow["10"] = nil
        func set(_ node: String, _ input: String, _ value: Any) {
            var n = workflow[node] as! [String: Any]
            var inputs = n["inputs"] as! [String: Any]
            inputs[input] = value
            n["inputs"] = inputs
            workflow[node] = n
        }
        set("4", "ckpt_name", checkpoint)
        set("5", "width", testCase.width)
        set("5", "height", testCase.height)
        set("3", "sampler_name", testCase.sampler)
        set("3", "scheduler", testCase.scheduler)
        set("9", "filename_prefix", prefix)
        let data = try JSONSerialization.data(withJSONObject: workflow, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
