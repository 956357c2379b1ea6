import Diffusion
import TensorCore
import Testing

/// `ModelSamplingDiscrete`'s `lcm` (a latent consistency model on ComfyUI's 50-step distilled schedule) and
/// `img_to_img` options against values printed by ComfyUI 0.3.64's own classes (`ModelSamplingDiscreteDistilled` +
/// `LCM`, `ModelSamplingDiscrete` + `IMG_TO_IMG`, SD1.5's default linear schedule, with and without zsnr).
@Suite struct DistilledSamplingTests {
    struct Reference {
        var zsnr: Bool
        /// `sigmas[[0, 1, 24, 48, 49]]`.
        var sigmas: [Float]
        /// `calculate_sigmas(m, name, 4)`.
        var schedules: [SchedulerName: [Float]]
        /// `timestep(σ)` for σ = 14.6146, 1, 0.03, 0.5.
        var timesteps: [Float]
        /// `sigma(t)` for t = 999, 19, 500, 10, 517.3.
        var sigmaAt: [Float]
        /// `percent_to_sigma(p)` for p = 0.25, 0.5, 0.9.
        var percents: [Double]
    }

    static let references = [
        Reference(zsnr: false,
                  sigmas: [0.13445067405700684, 0.19630272686481476, 1.6128861904144287, 12.966320991516113, 14.614641189575195],
                  schedules: [
                      .normal: [14.614640235900879, 2.991056203842163, 0.9728259444236755, 0.13445065915584564, 0],
                      .karras: [14.614643096923828, 4.215505123138428, 0.9286438822746277, 0.1344507485628128, 0],
                      .simple: [14.614641189575195, 4.260556697845459, 1.6128861904144287, 0.7193796038627625, 0],
                      .sgmUniform: [14.614640235900879, 4.170772075653076, 1.667901873588562, 0.7325183153152466, 0],
                      .ddimUniform: [14.614641189575195, 4.260556697845459, 1.7247940301895142, 0.773391842842102,
                                     0.19630272686481476, 0],
                  ],
                  timesteps: [999, 359, 19, 179],
                  sigmaAt: [14.614640235900879, 0.13445065915584564, 1.6183050870895386, 0.13445065915584564, 1.7149871587753296],
                  percents: [4.087230682373047, 1.6155933141708374, 0.3435770869255066]),
        Reference(zsnr: true,
                  sigmas: [0.1391298919916153, 0.20342160761356354, 1.768080234527588, 107.96139526367188, 4518.763671875],
                  schedules: [
                      .normal: [4518.763671875, 3.6093909740448, 1.031563401222229, 0.1391298919916153, 0],
                      .karras: [4518.7626953125, 560.8245849609375, 28.31013298034668, 0.1391298472881317, 0],
                      .simple: [4518.763671875, 5.72792911529541, 1.768080234527588, 0.7551910281181335, 0],
                      .sgmUniform: [4518.763671875, 5.563360214233398, 1.8345497846603394, 0.7693579792976379, 0],
                      .ddimUniform: [4518.763671875, 5.72792911529541, 1.9035180807113647, 0.8134734034538269,
                                     0.20342160761356354, 0],
                  ],
                  timesteps: [879, 339, 19, 159],
                  sigmaAt: [4518.763671875, 0.1391298919916153, 1.774617314338684, 0.1391298919916153, 1.8916131258010864],
                  percents: [5.411402225494385, 1.771345853805542, 0.3569812774658203]),
    ]

    static func close(_ a: [Float], _ b: [Float], relative: Float = 1e-6) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= relative * max(abs($1), 1e-30) }
    }

    @Test(arguments: references)
    func distilledScheduleMatchesComfyUI(_ reference: Reference) {
        let sampling = ModelSampling(prediction: .lcm, zeroTerminalSNR: reference.zsnr).distilled(prediction: .lcm)
        #expect(sampling.sigmas.count == 50)
        #expect(Self.close([0, 1, 24, 48, 49].map { sampling.sigmas[$0] }, reference.sigmas))
        for (scheduler, expected) in reference.schedules {
            let got = scheduler.sigmas(sampling, steps: 4)
            #expect(Self.close(got, expected), "\(scheduler): \(got) vs \(expected)")
        }
        #expect([14.6146, 1, 0.03, 0.5].map { sampling.timestep($0) } == reference.timesteps)
        #expect(Self.close([999, 19, 500, 10, 517.3].map { sampling.sigma(timestep: $0) }, reference.sigmaAt))
        #expect(sampling.percentToSigma(0) > 1e8 && sampling.percentToSigma(1) == 0)
        let percents = [0.25, 0.5, 0.9].map { Float(sampling.percentToSigma($0)) }
        #expect(Self.close(percents, reference.percents.map(Float.init)))
    }

    @Test func lcmDenoisedMatchesComfyUI() {
        let sampling = ModelSampling(prediction: .lcm).distilled(prediction: .lcm)
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [0.5, -1.25, 2.0, 0.125])
        let output = Tensor(shape: [1, 1, 2, 2], scalars: [0.3, 0.7, -0.9, 1.5])
        let cases: [(Float, [Float])] = [
            (14.614641189575195, [-3.884392738342285, -11.48024845123291, 15.153176307678223, -21.79696273803711]),
            (1.5, [0.049999985843896866, -2.299999952316284, 3.3499999046325684, -2.125]),
            (0.0291675492, [0.49125149846076965, -1.2704216241836548, 2.0262577533721924, 0.08124925196170807]),
        ]
        for (sigma, expected) in cases {
            let got = sampling.calculateDenoised(sigma: sigma, output: output, input: x).scalars
            #expect(Self.close(got, expected, relative: 1e-6), "σ \(sigma): \(got) vs \(expected)")
        }
        // The network input is scaled as for ε-prediction.
        #expect(sampling.calculateInput(sigma: 1.5, x).scalars == x.scalars.map { $0 / (1.5 * 1.5 + 1).squareRoot() })
    }

    @Test func imageToImageFeedsTheLatentUnscaledAndReadsX0() {
        let sampling = ModelSampling(prediction: .imgToImg)
        let x = Tensor(shape: [1, 2, 1, 1], scalars: [0.5, -1.25]), output = Tensor(shape: [1, 2, 1, 1], scalars: [0.3, 0.7])
        #expect(sampling.calculateInput(sigma: 2, x).scalars == [0.5, -1.25])
        #expect(sampling.calculateDenoised(sigma: 2, output: output, input: x).scalars == [0.3, 0.7])
        #expect(Self.close(sampling.noiseScaling(sigma: 2, noise: output, latent: x, maxDenoise: false).scalars,
                           [1.100000023841858, 0.1499999761581421]))
        // The schedule is the plain discrete one.
        #expect(sampling.sigmas == ModelSampling().sigmas && sampling.timestep(14.6146) == 999)
    }
}
