import Testing
import Workflow
@testable import TensorCore

@Suite("ComfyUI noise helpers")
struct ComfyNoiseTests {
    @Test("prepare_noise with and without batch_index")
    func prepareNoise() throws {
        let fixture = try TorchRandnFixture.load()
        let cases = try #require(fixture["comfyui"]?.arrayValue).filter { $0["helper"]?.stringValue == "prepare_noise" }
        #expect(cases.count == 3)
        for record in cases {
            let seed = try TorchRandnFixture.seed(record["seed"])
            let shape = try #require(TorchRandnFixture.ints(record["latent_shape"]))
            let batchIndex = TorchRandnFixture.ints(record["batch_index"])
            let noise = ComfyNoise.prepareNoise(shape: shape, seed: seed, batchIndex: batchIndex)
            #expect(noise.count == shape.reduce(1, *))
            try TorchRandnFixture.check(noise, against: record["avx2"],
                                        "prepare_noise seed \(seed) \(shape) batch_index \(String(describing: batchIndex))")
        }
    }

    @Test("batch_index picks separate per-item draws of one generator (repeats allowed)")
    func batchIndexSemantics() {
        let noise = ComfyNoise.prepareNoise(shape: [3, 4, 3, 3], seed: 7, batchIndex: [3, 3, 1])
        var generator = TorchGenerator(seed: 7)
        let draws = (0...3).map { _ in generator.randn(count: 36) }
        #expect(noise == draws[3] + draws[3] + draws[1])
    }

    @Test("the ancestral noise sampler: a fresh generator with the same seed, successive randn calls")
    func ancestralSampler() throws {
        let fixture = try TorchRandnFixture.load()
        let helpers = try #require(fixture["comfyui"]?.arrayValue)
        let record = try #require(helpers.first { $0["avx2_calls"] != nil })
        let seed = try TorchRandnFixture.seed(record["seed"])
        let shape = try #require(TorchRandnFixture.ints(record["shape"]))
        let calls = try #require(record["avx2_calls"]?.arrayValue)
        #expect(calls.count == 3)
        var sampler = AncestralNoiseSampler(shape: shape, seed: seed)
        for (step, expected) in calls.enumerated() {
            try TorchRandnFixture.check(sampler.next(), against: expected, "ancestral call \(step + 1)")
        }
        // Its first draw is the initial noise.
        var fresh = AncestralNoiseSampler(shape: shape, seed: seed)
        #expect(fresh.next() == ComfyNoise.prepareNoise(shape: shape, seed: seed, batchIndex: nil))
    }
}
