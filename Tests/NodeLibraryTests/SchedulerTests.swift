import Diffusion
import Foundation
import LoomTestSupport
import TensorCore
import Testing

/// SD1.5's model sampling and every scheduler against ComfyUI 0.3.64's own values
/// (`comfy_sd15_components_s0/sigmas/schedules.json`: `KSampler(...).sigmas` for each scheduler × steps 1/4/20 ×
/// denoise 1.0/0.6, with and without the discard-penultimate rule, and the 1000 model sigmas as float32 bits).
@Suite struct SchedulerTests {
    struct Golden {
        var modelSigmas: [Float]
        var sigmaMin: Double
        var sigmaMax: Double
        var schedulerNames: [String]
        var cases: [(name: String, scheduler: String, steps: Int, denoise: Double, sampler: String, values: [Float])]
    }

    static func bits(_ hex: String) -> Float { Float(bitPattern: UInt32(hex, radix: 16)!) }

    static func loadGolden() throws -> Golden {
        let url = ModelFixtures.components.appendingPathComponent("sigmas/schedules.json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let sampling = try #require(root["model_sampling"] as? [String: Any])
        let hex = try #require(sampling["sigmas_f32_hex"] as? [String])
        let schedules = try #require(root["schedules"] as? [String: Any])
        var cases: [(String, String, Int, Double, String, [Float])] = []
        for (name, value) in schedules.sorted(by: { $0.key < $1.key }) {
            let entry = try #require(value as? [String: Any])
            let values = try #require(entry["f32_hex"] as? [String]).map(bits)
            cases.append((name, try #require(entry["scheduler"] as? String), try #require(entry["steps"] as? Int),
                          try #require(entry["denoise"] as? Double),
                          try #require(entry["sampler_for_discard_rule"] as? String), values))
        }
        return Golden(modelSigmas: hex.map(bits),
                      sigmaMin: try #require(sampling["sigma_min"] as? Double),
                      sigmaMax: try #require(sampling["sigma_max"] as? Double),
                      schedulerNames: try #require(root["scheduler_names"] as? [String]), cases: cases)
    }

    @Test func modelSigmasMatchComfyBitForBit() throws {
        let golden = try Self.loadGolden()
        let sampling = ModelSampling()
        #expect(sampling.sigmas.count == 1000)
        let mismatches = zip(sampling.sigmas, golden.modelSigmas).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
        // The file's sigma_min/max are printed from float64; the float32 values agree to float precision.
        #expect(Swift.abs(Double(sampling.sigmaMin) - golden.sigmaMin) / golden.sigmaMin < 1e-7)
        #expect(Swift.abs(Double(sampling.sigmaMax) - golden.sigmaMax) / golden.sigmaMax < 1e-7)
    }

    @Test func schedulerNamesAreComfysInOrder() throws {
        let golden = try Self.loadGolden()
        #expect(SchedulerName.allCases.map(\.rawValue) == golden.schedulerNames)
    }

    @Test func everyScheduleMatchesComfy() throws {
        let golden = try Self.loadGolden()
        let sampling = ModelSampling()
        #expect(golden.cases.count == 108)
        for c in golden.cases {
            let scheduler = try #require(SchedulerName(rawValue: c.scheduler))
            let sampler = try #require(KSamplerName(rawValue: c.sampler))
            let ours = KSamplerSigmas.sigmas(sampling, scheduler: scheduler, sampler: sampler, steps: c.steps,
                                             denoise: c.denoise)
            try #require(ours.count == c.values.count, "\(c.name): \(ours) vs \(c.values)")
            for (a, b) in zip(ours, c.values) {
                if b.isNaN {
                    #expect(a.isNaN, "\(c.name): \(ours) vs \(c.values)")
                } else {
                    let error = Swift.abs(Double(a) - Double(b)) / Swift.max(Swift.abs(Double(b)), 1e-30)
                    #expect(a == b || error <= 1e-6, "\(c.name): \(ours) vs \(c.values)")
                }
            }
        }
    }

    @Test func timestepIsTheNearestLogSigmaAndSigmaInterpolates() {
        let s = ModelSampling()
        #expect(s.timestep(s.sigmaMax) == 999)
        #expect(s.timestep(s.sigmaMin) == 0)
        #expect(s.timestep(s.sigmas[500]) == 500)
        // Geometric mean of two neighbours: halfway in log σ.
        let mid = s.sigma(timestep: 500.5)
        let expected = (Double(s.sigmas[500]) * Double(s.sigmas[501])).squareRoot()
        #expect(Swift.abs(Double(mid) - expected) / expected < 1e-6)
        #expect(s.sigma(timestep: 2000) == s.sigma(timestep: 999))
        #expect(s.percentToSigma(0) > 1e8)
        #expect(s.percentToSigma(1) == 0)
        #expect(Swift.abs(s.percentToSigma(0.5) - Double(s.sigma(timestep: 499.5))) < 1e-9)
    }

    @Test func denoiseZeroGivesNoSigmasAndPartialDenoiseKeepsTheTail() {
        let s = ModelSampling()
        #expect(KSamplerSigmas.sigmas(s, scheduler: .karras, sampler: .euler, steps: 10, denoise: 0).isEmpty)
        let full = KSamplerSigmas.sigmas(s, scheduler: .normal, sampler: .euler, steps: 25)
        let half = KSamplerSigmas.sigmas(s, scheduler: .normal, sampler: .euler, steps: 10, denoise: 0.4)
        #expect(half == Array(full.suffix(11)))
    }

    @Test func vPredictionAndEpsConversions() throws {
        let s = ModelSampling(prediction: .vPrediction)
        let x = Tensor(shape: [1, 2], scalars: [1, -2])
        let v = Tensor(shape: [1, 2], scalars: [0.5, 0.25])
        let sigma: Float = 2
        let denoised = s.calculateDenoised(sigma: sigma, output: v, input: x).scalars
        // x·1/(σ²+1) − v·σ/√(σ²+1)
        let expected = zip([1.0, -2.0], [0.5, 0.25]).map { $0 / 5 - $1 * 2 / 5.0.squareRoot() }
        for (a, b) in zip(denoised, expected) { #expect(Swift.abs(Double(a) - b) < 1e-6) }
        let input = ModelSampling().calculateInput(sigma: 3, x).scalars
        #expect(Swift.abs(Double(input[0]) - 1 / 10.0.squareRoot()) < 1e-7)
        #expect(Swift.abs(Double(input[1]) + 2 / 10.0.squareRoot()) < 1e-7)
        let start = ModelSampling().noiseScaling(sigma: 3, noise: x, latent: v, maxDenoise: true).scalars
        let expectedStart: Double = 10.0.squareRoot() + 0.5
        #expect(Swift.abs(Double(start[0]) - expectedStart) < 1e-5)
        #expect(ModelSampling().isMaxDenoise(firstSigma: ModelSampling().sigmaMax))
        #expect(!ModelSampling().isMaxDenoise(firstSigma: 10))
    }

    @Test func zeroTerminalSNREndsAtAHugeSigma() {
        let s = ModelSampling(zeroTerminalSNR: true)
        #expect(s.sigmaMax > 4000)
        #expect(Swift.abs(s.sigmaMin - ModelSampling().sigmaMin) / s.sigmaMin < 1e-3)
    }
}
