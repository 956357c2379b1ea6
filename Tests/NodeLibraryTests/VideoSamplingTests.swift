import Diffusion
import Foundation
import LoomTestSupport
import TensorCore
import TensorCPU
import Testing

/// Stable Video Diffusion's sampling pieces against ComfyUI's SVD goldens (`comfy_svd_reduced_s0`): the EDM
/// schedule, the fps / motion / augmentation vector and `VideoLinearCFGGuidance`'s per-frame guidance.
@Suite struct VideoSamplingTests {
    static let components = ModelFixtures.svdFixtures.appendingPathComponent("components")

    static func golden(_ name: String) throws -> NumpyArray {
        try NumpyArray(contentsOf: components.appendingPathComponent(name).path)
    }

    @Test func edmKarrasScheduleIsComfyUIs() throws {
        let manifest = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: ModelFixtures.svdFixtures.appendingPathComponent("manifest.json"))) as? [String: Any])
        let expected = try #require(manifest["sigmas_karras"] as? [Double]).map { Float($0) }
        let sampling = ModelSampling.stableVideoDiffusion
        // The table's ends are exp(float32(ln σ)); karras then rounds its float32 power to 700.00012.
        #expect(abs(sampling.sigmaMax - 700) < 1e-3 && abs(sampling.sigmaMin - 0.002) < 1e-8)
        let sigmas = SchedulerName.karras.sigmas(sampling, steps: 3)
        #expect(sigmas == expected)
        // The reference started from pure noise: the first sigma is the schedule's top.
        #expect(sampling.isMaxDenoise(firstSigma: sigmas[0]))
    }

    @Test func edmTimestepsAreQuarterLogSigma() {
        let sampling = ModelSampling.stableVideoDiffusion
        for sigma: Float in [0.002, 0.5, 1, 15.589973, 700] {
            #expect(sampling.timestep(sigma) == 0.25 * logf(sigma))
            #expect(abs(sampling.sigma(timestep: sampling.timestep(sigma)) - sigma) <= 1e-5 * sigma)
        }
        #expect(sampling.percentToSigma(0) > 1e8)
        #expect(sampling.percentToSigma(1) == 0)
        #expect(abs(sampling.percentToSigma(0.5) - (0.002 * 700).squareRoot()) < 1e-3)
        // Every scheduler gives a decreasing schedule inside [σ_min, σ_max] ending in 0.
        for scheduler in SchedulerName.allCases {
            let sigmas = scheduler.sigmas(sampling, steps: 8)
            #expect(sigmas.last == 0, "\(scheduler)")
            let body = sigmas.dropLast()
            #expect(zip(body, body.dropFirst()).allSatisfy { $0 > $1 }, "\(scheduler): \(sigmas)")
            #expect(body.allSatisfy { $0 <= 700.01 && $0 >= 0.0019 }, "\(scheduler): \(Array(body))")
        }
    }

    @Test func admVectorIsComfyUIs() throws {
        let expected = try Self.golden("adm_y.npy")
        let y = SVDConditioning.adm(VideoConditioning(fps: 6, motionBucketID: 127, augmentationLevel: 0))
        #expect(y.shape == expected.shape)
        let error = Parity.relativeError(y.scalars, reference: expected.values)
        // torch's vectorised sin/cos differ from libm's by an ulp or two on the larger arguments.
        #expect(error <= 1e-5, "adm y: relative error \(error)")
    }

    @Test func linearGuidanceRampsOverFrames() throws {
        let x = try Self.golden("unet_x.npy"), cond = try Self.golden("unet_denoised_cond.npy")
        let uncond = try Self.golden("unet_denoised_uncond.npy"), expected = try Self.golden("cfg_linear_denoised.npy")
        func tensor(_ a: NumpyArray) -> Tensor { Tensor(shape: a.shape, scalars: a.values) }
        #expect(CFGFunction.linear(minCFG: 1).scales(batch: 4, cfg: 2.5) == [1, 1.5, 2, 2.5])
        let mixed = CFGFunction.linear(minCFG: 1).apply(x: tensor(x), cond: tensor(cond), uncond: tensor(uncond), cfg: 2.5,
                                                       backend: try #require(NodeHarness.backend))
        let error = Parity.relativeError(mixed.scalars, reference: expected.values)
        #expect(error <= 1e-5, "linear cfg: relative error \(error)")
    }

    @Test func triangleGuidancePeaksInTheMiddle() {
        let scales = CFGFunction.triangle(minCFG: 1).scales(batch: 5, cfg: 3)
        #expect(scales == [1, 2, 3, 2, 1])
        #expect(CFGFunction.triangle(minCFG: 2).scales(batch: 1, cfg: 5) == [2])
    }

    @Test func concatLatentSpreadsOverFrames() throws {
        let latent = Tensor(shape: [2, 1, 1, 1], scalars: [10, 20])
        #expect(SVDConditioning.resizedToBatch(latent, 4).scalars == [10, 10, 20, 20])
        let five = Tensor(shape: [5, 1, 1, 1], scalars: [0, 1, 2, 3, 4])
        #expect(SVDConditioning.resizedToBatch(five, 3).scalars == [0, 2, 4])
        let backend = try #require(NodeHarness.backend)
        #expect(SVDConditioning.concatLatent(nil, noiseShape: [3, 4, 2, 2], backend: backend).scalars.allSatisfy { $0 == 0 })
        let one = Tensor(shape: [1, 1, 4, 8], scalars: (0..<32).map(Float.init))
        let resized = SVDConditioning.concatLatent(one, noiseShape: [2, 1, 4, 4], backend: backend)
        #expect(resized.shape == [2, 1, 4, 4])
        // The 4×8 plane is cropped to its centre 4×4 (columns 2…5), which needs no interpolation.
        #expect(Array(resized.scalars.prefix(4)) == [2, 3, 4, 5])
    }
}
